package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EncodeCursor makes an opaque page cursor from a sort position (time, id).
func EncodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10) + "|" + id))
}

// DecodeCursor reverses EncodeCursor; a cursor not made by it is an error.
func DecodeCursor(cursor string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("invalid cursor %q: %w", cursor, err)
	}
	ns, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, "", fmt.Errorf("invalid cursor %q", cursor)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("invalid cursor %q: %w", cursor, err)
	}
	return time.Unix(0, n).UTC(), id, nil
}
