// Package fakekit holds what every fake messenger platform needs apart
// from its codec: a clock tests can drive (ManualClock), token buckets for
// the platform's rate limits, faults a test or the control API can inject
// (an outage answering 502, hanging or resetting connections; the next N
// calls failing with a platform error code), per-chat records of what the
// bot sent with waiters that never poll, webhook delivery with one update
// in flight per chat, retries on the platform's schedule and expiry, and
// the JSON control API routes those parts share (/_fake/fail,
// /_fake/outage, /_fake/clock/advance, /_fake/deliveries).
//
// A fake (tgfake, wafake, viberfake, vkfake) writes only its codec: URL
// shapes, request checks, bodies and error texts. wafake, viberfake and
// vkfake embed Base, which wires those parts together (Init), serves the
// control routes over the records, and answers the control API and
// injected faults before the fake's own API (Front).
package fakekit
