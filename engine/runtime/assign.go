package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// AssignEvery is how often every replica looks at the backlog of waiting
// chats even without a kick: it catches capacity another replica freed and
// operators who went offline.
const AssignEvery = 5 * time.Second

// autoAssignBatch is how many waiting chats one pass looks at.
const autoAssignBatch = 200

// KickAssign asks the auto-assigner to look at the waiting chats now (a
// chat waits, capacity freed, an operator came online).
func (r *Runtime) KickAssign() {
	if r.kickc == nil {
		return
	}
	select {
	case r.kickc <- struct{}{}:
	default:
	}
}

// assignLoop runs the auto-assigner until ctx ends.
func (r *Runtime) assignLoop(ctx context.Context) {
	t := time.NewTicker(AssignEvery)
	defer t.Stop()
	for {
		if err := r.AutoAssign(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("auto-assign", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kickc:
		}
	}
}

// candidate is an operator who may get chats in this pass.
type candidate struct {
	u    store.User
	open int
	last time.Time
}

// AutoAssign gives waiting chats, oldest first, to online operators of
// their queue: the one with the fewest open chats under capacity, ties to
// the one who waited longest since their last assignment. A chat nobody
// has room for waits; the next pass (a kick when capacity frees, or
// AssignEvery) tries again. Each assignment is a conditional take of a
// still-unassigned chat, so replicas running this at once never assign a
// chat twice. It returns how many chats it assigned.
func (r *Runtime) AutoAssign(ctx context.Context) error {
	_, err := r.autoAssign(ctx)
	return err
}

func (r *Runtime) autoAssign(ctx context.Context) (int, error) {
	now := r.clock.Now()
	pres, err := r.st.ListPresence(ctx)
	if err != nil {
		return 0, err
	}
	online := map[string]store.Presence{}
	for _, p := range pres {
		if p.Until.After(now) {
			online[p.User] = p
		}
	}
	if len(online) == 0 {
		return 0, nil
	}
	users, err := r.st.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	var cands []*candidate
	for _, u := range users {
		p, ok := online[u.ID]
		if !ok || !(u.Role == store.RoleOperator || (u.Role == store.RoleAdmin && len(u.Queues) > 0)) {
			continue
		}
		n, err := r.st.CountAssigned(ctx, u.ID)
		if err != nil {
			return 0, err
		}
		if n < u.MaxOpen() {
			cands = append(cands, &candidate{u: u, open: n, last: p.LastAssignedAt})
		}
	}
	assigned := 0
	cursor := ""
	for len(cands) > 0 {
		items, next, err := r.st.ListInbox(ctx, store.InboxQuery{Cursor: cursor, Limit: autoAssignBatch,
			Inbox: &store.InboxFilter{States: []store.InboxState{store.InboxUnassigned}, Oldest: true}})
		if err != nil {
			return assigned, err
		}
		for i := range items {
			c := &items[i]
			best := pick(cands, c.Inbox.Queue)
			if best == nil {
				continue
			}
			nobody := ""
			_, err := r.Assign(ctx, c.ID, Actor{ID: "auto", Name: "auto", Admin: true},
				AssignRequest{To: best.u.ID, ToName: orElse(best.u.Name, best.u.Login), From: &nobody, Auto: true})
			var taken *TakenError
			switch {
			case err == nil:
				assigned++
				best.open++
				best.last = now
				if err := r.st.NoteAssigned(ctx, best.u.ID, now); err != nil {
					r.log.Warn("note assignment", "user", best.u.ID, "err", err)
				}
				if best.open >= best.u.MaxOpen() {
					cands = removeCand(cands, best)
				}
			case errors.As(err, &taken), errors.Is(err, ErrNotInInbox):
				// Another replica or an operator was quicker.
			case errors.Is(err, ErrStopped) || ctx.Err() != nil:
				return assigned, err
			default:
				r.log.Warn("auto-assign", "conversation", c.ID, "err", err)
			}
			if len(cands) == 0 {
				break
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return assigned, nil
}

// pick is the operator of queue with the fewest open chats, ties to the
// longest since their last assignment.
func pick(cands []*candidate, queue string) *candidate {
	var best *candidate
	for _, c := range cands {
		if !c.u.InQueue(queue) || c.open >= c.u.MaxOpen() {
			continue
		}
		if best == nil || c.open < best.open || (c.open == best.open && c.last.Before(best.last)) {
			best = c
		}
	}
	return best
}

func removeCand(cands []*candidate, c *candidate) []*candidate {
	out := cands[:0]
	for _, x := range cands {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
