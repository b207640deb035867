package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/voronka/voronka/engine/channel"
	"github.com/voronka/voronka/engine/runtime"
)

// Receipts become delivered/read/failed events of the conversation, once
// each however often the platform repeats them, in whatever order.
func TestReceiptsBecomeDeliveryEvents(t *testing.T) {
	h := newHarness(t, openBolt(t))
	h.run(h.rt)
	h.text(h.rt, "42", "u1", "hi")
	h.settle(h.rt)
	ctx := context.Background()
	rc := func(st channel.ReceiptStatus, at time.Duration) channel.Receipt {
		return channel.Receipt{Bot: bot, Channel: "telegram", Chat: "42", PlatformID: "wamid.1", Status: st, Time: t0.Add(at)}
	}
	for _, r := range []channel.Receipt{rc(channel.ReceiptRead, 3*time.Second), rc(channel.ReceiptDelivered, 2*time.Second),
		rc(channel.ReceiptRead, 3*time.Second), rc(channel.ReceiptSent, time.Second)} {
		if err := h.rt.Receipt(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	failed := rc(channel.ReceiptFailed, 4*time.Second)
	failed.PlatformID, failed.Code, failed.Error = "wamid.2", 131047, "Re-engagement message"
	if err := h.rt.Receipt(ctx, failed); err != nil {
		t.Fatal(err)
	}
	// A chat Voronka never spoke with: nothing to record, no error.
	stranger := rc(channel.ReceiptRead, 0)
	stranger.Chat = "999"
	if err := h.rt.Receipt(ctx, stranger); err != nil {
		t.Fatal(err)
	}
	reads, delivered := h.events("read"), h.events("delivered")
	if len(reads) != 1 || len(delivered) != 1 || !reads[0].At.Equal(t0.Add(3*time.Second)) || reads[0].Data["platform_id"] != "wamid.1" {
		t.Fatalf("read %+v delivered %+v", reads, delivered)
	}
	var fromPlatform int
	for _, e := range h.events("failed") {
		if e.Data["platform_id"] == "wamid.2" {
			fromPlatform++
			if s, _ := e.Data["error"].(string); s == "" {
				t.Fatalf("failed event without a reason: %+v", e)
			}
		}
	}
	if fromPlatform != 1 {
		t.Fatalf("%d failed events for wamid.2", fromPlatform)
	}
}

// The runtime tells the sender when the person last wrote, so WhatsApp's
// 24-hour rule can be kept.
func TestOutboundCarriesLastInbound(t *testing.T) {
	h := newHarness(t, openBolt(t))
	h.run(h.rt)
	h.text(h.rt, "43", "u1", "hi")
	h.settle(h.rt)
	sent := h.snd.sentTo("43")
	if len(sent) == 0 || sent[0].LastInbound.IsZero() || !sent[0].LastInbound.Equal(h.conv("43").LastInboundAt) {
		t.Fatalf("outbound %+v, conversation last inbound %v", sent, h.conv("43").LastInboundAt)
	}
}

const templateFlow = `
voronka: 1
id: tf
start: hello
nodes:
  hello:
    type: message
    text: "Здравствуйте, {{ contact.first_name }}!"
    template: greeting
    template_language: ru
    template_params: ["{{ contact.first_name }}"]
`

// A node's WhatsApp template, its parameters rendered, travels with the
// message to the sender (and survives the outbox in the store).
func TestTemplateReachesTheSender(t *testing.T) {
	h := newHarness(t, openBolt(t), withFlows(runtime.StaticFlows{bot: compile(t, "tf.yaml", []byte(templateFlow))}))
	h.run(h.rt)
	h.text(h.rt, "44", "u1", "hi")
	h.settle(h.rt)
	sent := h.snd.sentTo("44")
	if len(sent) != 1 || sent[0].Template == nil || sent[0].Template.Name != "greeting" || sent[0].Template.Language != "ru" ||
		len(sent[0].Template.Params) != 1 || sent[0].Template.Params[0] != "Anna" {
		t.Fatalf("sent %+v", sent)
	}
}

// A failure the platform reports about the person (WhatsApp's 131026,
// undeliverable) blocks the contact at once, with consent off, as a
// Telegram 403 does; a marketing opt-out (131050) turns consent off only.
// A repeated status records nothing twice.
func TestReceiptReachability(t *testing.T) {
	h := newHarness(t, openBolt(t))
	h.run(h.rt)
	h.text(h.rt, "44", "u1", "hi")
	h.text(h.rt, "45", "u2", "hi")
	h.settle(h.rt)
	ctx := context.Background()
	gone := channel.Receipt{Bot: bot, Channel: "telegram", Chat: "44", PlatformID: "wamid.g", Status: channel.ReceiptFailed,
		Time: t0.Add(time.Second), Code: 131026, Error: "Message Undeliverable.", Unreachable: true}
	optOut := channel.Receipt{Bot: bot, Channel: "telegram", Chat: "45", PlatformID: "wamid.o", Status: channel.ReceiptFailed,
		Time: t0.Add(time.Second), Code: 131050, Error: "User has stopped receiving marketing messages", OptedOut: true}
	for range 2 {
		for _, rc := range []channel.Receipt{gone, optOut} {
			if err := h.rt.Receipt(ctx, rc); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := h.conv("44")
	if !c.Blocked || c.Consent.Subscribed || c.Consent.Source != "blocked" {
		t.Fatalf("after 131026: blocked %v consent %+v, want blocked with consent off", c.Blocked, c.Consent)
	}
	o := h.conv("45")
	if o.Blocked || o.Consent.Subscribed || o.Consent.Source != "platform_opt_out" {
		t.Fatalf("after 131050: blocked %v consent %+v, want consent off, not blocked", o.Blocked, o.Consent)
	}
	if n := len(h.events("blocked")); n != 1 {
		t.Fatalf("%d blocked events, want 1", n)
	}
	if n := len(h.events("unsubscribed")); n != 1 {
		t.Fatalf("%d unsubscribed events, want 1", n)
	}
	var failed int
	for _, e := range h.events("failed") {
		if e.Data["platform_id"] == "wamid.g" || e.Data["platform_id"] == "wamid.o" {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d failed events, want one per message", failed)
	}
	// The person writing again unblocks the chat, as after a Telegram block.
	h.text(h.rt, "44", "u3", "I'm back")
	h.settle(h.rt)
	if h.conv("44").Blocked {
		t.Fatal("still blocked after the person wrote")
	}
}
