// Package sealed encrypts channel secrets at rest with AES-256-GCM under a
// key from VORONKA_SECRET_KEY. A sealed value is "sealed:v1:" followed by
// base64url(nonce ‖ ciphertext); anything else is a value stored before a
// key was set and is read as it is, so setting a key later needs no
// migration (values are sealed as they are next written).
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const prefix = "sealed:v1:"

// ErrNoKey means a value is sealed and this process has no key to open it.
var ErrNoKey = errors.New("the value is encrypted and VORONKA_SECRET_KEY is not set")

// ErrWrongKey means a sealed value does not open with this key (another
// key sealed it, or it was changed).
var ErrWrongKey = errors.New("the value does not decrypt with VORONKA_SECRET_KEY (a different key sealed it)")

// Box seals and opens values. The zero value (and nil) has no key: it
// stores values as they are and cannot open sealed ones.
type Box struct {
	aead cipher.AEAD
}

// New makes a box for key, any non-empty text (its SHA-256 is the AES key:
// a passphrase of 32+ random characters is as strong as AES-256 gets). An
// empty key gives a box that does not encrypt.
func New(key string) (*Box, error) {
	if key == "" {
		return &Box{}, nil
	}
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Encrypts reports whether the box seals what it stores.
func (b *Box) Encrypts() bool { return b != nil && b.aead != nil }

// Seal returns plain encrypted, or plain itself without a key ("" stays "").
func (b *Box) Seal(plain string) (string, error) {
	if plain == "" || !b.Encrypts() {
		return plain, nil
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), []byte(prefix))
	return prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns what Seal sealed; a value that is not sealed is returned
// as it is.
func (b *Box) Open(stored string) (string, error) {
	rest, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return stored, nil
	}
	if !b.Encrypts() {
		return "", ErrNoKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrWrongKey
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(prefix))
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// IsSealed reports whether stored is an encrypted value.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, prefix) }
