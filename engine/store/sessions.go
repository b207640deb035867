package store

import (
	"context"
	"time"
)

// Sessions keeps the signed-in browsers of the builder and the inbox in the
// store, so a restart or another replica keeps people signed in. Only a
// hash of each session token is stored: reading the store does not let
// anyone sign in as somebody else.
type Sessions interface {
	// PutSession creates or replaces the session with s.ID.
	PutSession(ctx context.Context, s Session) error
	// GetSession returns the session with id, expired or not (the caller
	// compares ExpiresAt with its clock); ErrNotFound when it is unknown.
	GetSession(ctx context.Context, id string) (*Session, error)
	// ExtendSession moves the expiry of an existing session to expiresAt;
	// ErrNotFound when it is gone. Unlike PutSession it never brings back a
	// session that a sign-out deleted meanwhile.
	ExtendSession(ctx context.Context, id string, expiresAt time.Time) error
	// DeleteSession removes a session (sign-out); an unknown id is no error,
	// so signing out twice is harmless.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions removes every session of a user (deleted, role or
	// password changed) except the one with id keep ("" keeps none), and
	// reports how many it removed.
	DeleteUserSessions(ctx context.Context, userID, keep string) (int64, error)
	// PurgeSessions removes the sessions that expired before now and reports
	// how many. It replaces a TTL index, which not every deployment has.
	PurgeSessions(ctx context.Context, now time.Time) (int64, error)
}

// Session is a signed-in browser.
type Session struct {
	// ID is the hex SHA-256 of the session token the cookie carries.
	ID     string `json:"id" bson:"_id"`
	UserID string `json:"user_id" bson:"user_id"`
	// CSRF is the token the browser echoes on state-changing requests.
	CSRF      string    `json:"csrf" bson:"csrf"`
	CreatedAt time.Time `json:"created_at" bson:"created_at"`
	// ExpiresAt moves forward while the session is used.
	ExpiresAt time.Time `json:"expires_at" bson:"expires_at"`
	// IP and UserAgent say where the session was opened, for an admin.
	IP        string `json:"ip,omitempty" bson:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty" bson:"user_agent,omitempty"`
}
