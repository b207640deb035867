package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/store"
)

// TestSourceIsKeptOnTheContactAndTheFirstEvents: a deep link's payload
// (and a page's UTM parameters) stay on the contact from the first update
// on, later links do not rewrite it, and each run's conversation_started
// event carries it for analytics.
func TestSourceIsKeptOnTheContactAndTheFirstEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.run(h.rt)
		in := inbound("1", "u1", "/start ad_spring")
		in.Source, in.UTM = "ad_spring", "utm_source=vk&utm_campaign=spring&ref=x&utm_empty="
		if err := h.rt.Handle(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		h.waitTexts("1", "Hi Anna")
		later := inbound("1", "u2", "/start other")
		later.Source = "other"
		if err := h.rt.Handle(context.Background(), later); err != nil {
			t.Fatal(err)
		}
		h.settle(h.rt)
		c := h.conv("1")
		if c.Contact.Source != "ad_spring" || c.Contact.FirstName != "Anna" {
			t.Fatalf("contact %+v, want the first source ad_spring", c.Contact)
		}
		if len(c.Contact.UTM) != 2 || c.Contact.UTM["utm_source"] != "vk" || c.Contact.UTM["utm_campaign"] != "spring" {
			t.Fatalf("contact utm %v, want utm_source and utm_campaign only", c.Contact.UTM)
		}
		started := h.events("conversation_started")
		if len(started) != 2 {
			t.Fatalf("%d conversation_started events, want 2 (the /start of a new link starts a new run)", len(started))
		}
		for _, e := range started {
			if e.Data["source"] != "ad_spring" {
				t.Fatalf("conversation_started %+v, want data source ad_spring (the first touch)", e)
			}
		}
		for _, e := range h.events("node_entered") {
			if e.Data["source"] != nil {
				t.Fatalf("node_entered carries the source: %+v", e)
			}
		}
		// A chat without a link has no source.
		h.text(h.rt, "2", "v1", "hello")
		h.settle(h.rt)
		if c := h.conv("2"); c.Contact.Source != "" || c.Contact.UTM != nil {
			t.Fatalf("contact without a link: %+v", c.Contact)
		}
	})
}

const sourceFlow = `
voronka: 1
id: s
start: route
triggers:
  - command: /start
    goto: route
    reset: true
nodes:
  route:
    type: condition
    branches:
      - when: 'contact.source == "ads"'
        next: from_ads
    else: wait
  from_ads:
    type: message
    text: "Из рекламы"
  wait:
    type: delay
    for: 1h
    next: again
  again:
    type: condition
    branches:
      - when: 'contact.source startsWith "vk"'
        next: from_vk
    else: nowhere
  from_vk:
    type: message
    text: "Из ВКонтакте"
  nowhere:
    type: message
    text: "Ниоткуда"
`

// TestConditionOnTheSource: a condition row "source equals ads" (the
// builder writes contact.source == "ads") sees the conversation's first
// touch on the first message and, kept in the state, after a delay.
func TestConditionOnTheSource(t *testing.T) {
	eachBackend(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t))
		h.prog = compile(t, "s.yaml", []byte(sourceFlow))
		h.rt = h.newRuntime()
		h.run(h.rt)
		for chat, src := range map[string]string{"1": "ads", "2": "vk_spring", "3": ""} {
			in := inbound(chat, "u"+chat, "/start "+src)
			in.Source = src
			if err := h.rt.Handle(context.Background(), in); err != nil {
				t.Fatal(err)
			}
		}
		h.waitTexts("1", "Из рекламы")
		h.settle(h.rt)
		h.clock.Advance(2 * time.Hour)
		h.waitTexts("2", "Из ВКонтакте")
		h.waitTexts("3", "Ниоткуда")
	})
}
