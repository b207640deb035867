package store_test

import (
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, id := range []string{"b:telegram:42", "", "with|pipe"} {
		gotAt, gotID, err := store.DecodeCursor(store.EncodeCursor(at, id))
		if err != nil || !gotAt.Equal(at) || gotID != id {
			t.Errorf("round trip of (%v, %q) gave (%v, %q, %v)", at, id, gotAt, gotID, err)
		}
	}
}

func TestDecodeCursorRejectsGarbage(t *testing.T) {
	for _, c := range []string{"!!!", "bm9waXBl", "YWJjfGlk"} { // not base64; no separator; bad number
		if _, _, err := store.DecodeCursor(c); err == nil {
			t.Errorf("cursor %q accepted", c)
		}
	}
}

func TestClampLimit(t *testing.T) {
	for in, want := range map[int]int{-1: store.DefaultLimit, 0: store.DefaultLimit, 7: 7, store.MaxLimit + 1: store.MaxLimit} {
		if got := store.ClampLimit(in); got != want {
			t.Errorf("ClampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestMatchesAudience(t *testing.T) {
	c := store.Conversation{Bot: "b", Channel: "telegram", Segment: "hot", Tags: []string{"vip"},
		Consent: store.Consent{Subscribed: true}, Contact: store.Contact{Phone: "+1", Username: "ann"}}
	yes := []store.AudienceQuery{{Bot: "b"}, {Bot: "b", Segment: "hot", Tag: "vip", Channel: "telegram", Phone: "+1", Username: "ann"}}
	no := []store.AudienceQuery{{Bot: "x"}, {Bot: "b", Segment: "cold"}, {Bot: "b", Tag: "x"}, {Bot: "b", Channel: "vk"},
		{Bot: "b", Phone: "+2"}, {Bot: "b", Username: "bob"}}
	for _, q := range yes {
		if !c.MatchesAudience(q) {
			t.Errorf("%+v does not match", q)
		}
	}
	for _, q := range no {
		if c.MatchesAudience(q) {
			t.Errorf("%+v matches", q)
		}
	}
	c.Blocked = true
	if c.MatchesAudience(yes[0]) {
		t.Error("blocked conversation is in the audience")
	}
	c.Blocked, c.Consent.Subscribed = false, false
	if c.MatchesAudience(yes[0]) {
		t.Error("unsubscribed conversation is in the audience")
	}
}
