// Package engine runs flows: Step is a pure, deterministic function of
// (compiled flow, conversation state, input) that returns the new state, the
// messages to send, analytics events and effects for the outside world.
// Nothing here does I/O; time and randomness arrive with the input.
package engine

import (
	"slices"
	"time"

	"github.com/voronka/voronka/engine/eval"
)

// Status is where a conversation stands.
type Status uint8

// Statuses.
const (
	// StatusBot means the bot is running nodes (seen only mid-step).
	StatusBot Status = iota
	// StatusWaiting means the bot waits for the user or a timer.
	StatusWaiting
	// StatusHandoff means an operator has the chat; the bot stays silent.
	StatusHandoff
	// StatusEnded means the flow ended; the next message starts over.
	StatusEnded
)

var statusNames = [...]string{"bot", "waiting", "handoff", "ended"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// ParseStatus reads a status name.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// Wait says what a waiting conversation waits for.
type Wait uint8

// What a conversation can wait for.
const (
	WaitNone    Wait = iota
	WaitReply        // buttons or question: the user's answer
	WaitTimer        // delay: the timer
	WaitWebhook      // webhook: the call's result
	WaitHandoff      // an operator
	WaitEnd          // ended: anything starts over
)

// Contact is the person's profile.
type Contact = eval.Contact

// State is one conversation's state. It is small and encodes to a compact,
// versioned binary form (codec.go) that future releases keep reading.
type State struct {
	Flow    string
	Version int // the published flow version this conversation is pinned to
	Node    string
	Status  Status
	Wait    Wait

	Vars  map[string]any
	Tags  []string
	Score float64

	Attempts int    // invalid answers at the current question
	Timer    uint32 // id of the pending timer; 0 when none
	Webhook  uint32 // id of the pending webhook call; 0 when none
	Seq      uint32 // last id handed out for timers and webhooks

	Splits       []SplitChoice // sticky A/B variants
	Unsubscribed bool
	Contact      Contact

	Started    time.Time // when this run of the flow began
	LastActive time.Time // last inbound message

	shared bool // Vars and Tags are shared with the caller's state; copy before writing
}

// SplitChoice records the variant a conversation got at a split node.
type SplitChoice struct {
	Node    string
	Variant string
}

// IsNew reports whether the conversation has never run.
func (s *State) IsNew() bool { return s.Node == "" }

// variant returns the A/B variant the conversation got at a split node.
func (s *State) variant(node string) (string, bool) {
	for _, c := range s.Splits {
		if c.Node == node {
			return c.Variant, true
		}
	}
	return "", false
}

// HasTag reports whether the conversation carries a tag.
func (s *State) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// own makes Vars and Tags safe to modify; Step never writes into the state it
// was given, so callers can keep it (conversation tests compare before/after).
func (s *State) own() {
	if !s.shared {
		return
	}
	if s.Vars != nil {
		m := make(map[string]any, len(s.Vars)+1)
		for k, v := range s.Vars {
			m[k] = v
		}
		s.Vars = m
	}
	s.Tags = slices.Clone(s.Tags)
	s.Splits = slices.Clone(s.Splits)
	s.shared = false
}

func (s *State) setVar(name string, v any) {
	s.own()
	if s.Vars == nil {
		s.Vars = make(map[string]any, 4)
	}
	s.Vars[name] = v
}

func (s *State) addTags(tags []string) bool {
	changed := false
	for _, t := range tags {
		if !s.HasTag(t) {
			if !changed {
				s.own()
			}
			s.Tags = append(s.Tags, t)
			changed = true
		}
	}
	return changed
}

// reset clears what a trigger with reset: true clears.
func (s *State) reset() {
	s.Vars = nil
	s.Tags = nil
	s.Score = 0
	s.Splits = nil
	s.shared = false
}
