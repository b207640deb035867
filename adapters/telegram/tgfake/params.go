package tgfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody bounds a request body the fake will read.
const maxBody = 50 << 20

// params are a call's arguments, flattened the way the Bot API sees them:
// JSON objects and arrays stay JSON text, strings are unquoted.
type params map[string]string

// readParams merges query parameters with the body in any of the wire
// formats real clients use: form-urlencoded, JSON and multipart.
func readParams(r *http.Request) (params, error) {
	p := params{}
	if q := r.URL.RawQuery; q != "" {
		vals, err := url.ParseQuery(q)
		if err != nil {
			return nil, fmt.Errorf("parse query: %w", err)
		}
		for k, v := range vals {
			p[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return p, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, mparams, _ := mime.ParseMediaType(ct)
	switch mt {
	case "multipart/form-data":
		if mparams["boundary"] == "" {
			return nil, errors.New("multipart body without boundary")
		}
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return nil, fmt.Errorf("parse multipart body: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	switch mt {
	case "application/json":
		if err := p.addJSON(body); err != nil {
			return nil, err
		}
	default: // application/x-www-form-urlencoded and anything unlabeled
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("parse form body: %w", err)
		}
		for k, v := range vals {
			p[k] = v[0]
		}
	}
	return p, nil
}

// addJSON adds the fields of a JSON object: strings unquoted, other values
// as JSON text, nulls skipped.
func (p params) addJSON(body []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Errorf("parse JSON body: %w", err)
	}
	for k, raw := range obj {
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("parse JSON field %q: %w", k, err)
			}
			p[k] = s
			continue
		}
		if string(raw) == "null" {
			continue
		}
		p[k] = string(raw)
	}
	return nil
}

func (p params) has(k string) bool {
	_, ok := p[k]
	return ok
}

// int64 parses an integer argument; absent or malformed gives def, as the
// Bot API treats unparsable numbers as absent.
func (p params) int64(k string, def int64) int64 {
	s, ok := p[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return def
	}
	return n
}

// clamped is an integer argument with the Bot API's get_integer_arg rule:
// default when absent, clamped to [lo, hi].
func (p params) clamped(k string, def, lo, hi int64) int64 {
	n := p.int64(k, def)
	return min(max(n, lo), hi)
}

func (p params) bool(k string) bool {
	switch strings.ToLower(strings.TrimSpace(p[k])) {
	case "true", "1":
		return true
	}
	return false
}

// stringList decodes a JSON array of strings such as allowed_updates.
func (p params) stringList(k string) ([]string, bool) {
	s, ok := p[k]
	if !ok || strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "null" {
		return nil, false // not specified: keep the previous setting
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, false
	}
	return out, true
}
