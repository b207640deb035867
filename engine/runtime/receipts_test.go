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
