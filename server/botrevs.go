package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/store"
)

// editBotTries bounds how often an edit is applied again after another
// write to the bot came first.
const editBotTries = 10

// editBot changes bot id with change, as one conditional write: it reads the
// bot, applies change and writes over the revision it read. When rev is set
// (the revision the caller's form was read at) and the bot has moved on, the
// answer is 409 with the current revision: the caller reloads and decides.
// Without rev, a write that loses to another is applied again on the fresh
// bot, so two edits of different fields both stand and neither is lost.
func (s *Server) editBot(ctx context.Context, id string, rev *int64, change func(b *store.Bot) error) (*store.Bot, error) {
	for range editBotTries {
		b, err := s.cfg.Store.GetBot(ctx, id)
		if err != nil {
			return nil, botErr(err)
		}
		if rev != nil && b.Rev != *rev {
			return nil, botChanged(b.Rev)
		}
		if err := change(b); err != nil {
			return nil, err
		}
		b.UpdatedAt = s.cfg.Now().UTC()
		err = s.cfg.Store.UpdateBot(ctx, b)
		switch {
		case err == nil:
			return b, nil
		case !errors.Is(err, store.ErrVersionConflict):
			return nil, botErr(err)
		case rev != nil:
			cur, err := s.cfg.Store.GetBot(ctx, id)
			if err != nil {
				return nil, botErr(err)
			}
			return nil, botChanged(cur.Rev)
		}
	}
	return nil, fmt.Errorf("change bot %s: %w", id, store.ErrVersionConflict)
}

// botChanged is the 409 of an edit made over a revision that is gone.
func botChanged(rev int64) error {
	return &apiError{Status: fiber.StatusConflict, Msg: "the bot was changed by someone else: reload it and make your change again",
		Details: fiber.Map{"rev": rev}}
}
