package webchat

import (
	"encoding/json"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	sid, _ := NewSessionID()
	ok := []struct {
		in   string
		want ClientFrame
	}{
		{`{"type":"hello","session":"` + sid + `","bot":"demo","profile":{"first_name":"Анна","language":"ru"},"last_seen":7}`,
			ClientFrame{Type: TypeHello, Session: sid, Bot: "demo", Profile: &Profile{FirstName: "Анна", Language: "ru"}, LastSeen: 7}},
		{`{"type":"hello"}`, ClientFrame{Type: TypeHello}},
		{`{"type":"hello","v":1,"bot":"demo"}`, ClientFrame{Type: TypeHello, V: 1, Bot: "demo"}},
		{` {"type":"text","id":"c-1","text":"Привет","future_field":[1]} `, ClientFrame{Type: TypeText, ID: "c-1", Text: "Привет"}},
		{`{"type":"press","id":"c-2","payload":"yes","label":"Да"}`, ClientFrame{Type: TypePress, ID: "c-2", Payload: "yes", Label: "Да"}},
		{`{"type":"ping"}`, ClientFrame{Type: TypePing}},
	}
	for _, c := range ok {
		got, err := DecodeFrame([]byte(c.in), 4096)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, code string }{
		{``, CodeBadFrame},
		{`null`, CodeBadFrame},
		{`"hello"`, CodeBadFrame},
		{`{"type":"hello","last_seen":-1}`, CodeBadFrame},
		{`{"type":"hello","session":"short"}`, CodeBadHello},
		{`{"type":"hello","bot":"a\nb"}`, CodeBadHello},
		{`{"type":"hello","bot":"` + strings.Repeat("b", 257) + `"}`, CodeBadHello},
		{`{"type":"hello","v":2,"bot":"demo"}`, CodeUnsupportedVersion},
		{`{"type":"text","id":"` + strings.Repeat("i", 65) + `","text":"x"}`, CodeBadFrame},
		{`{"type":"text","id":"a\u0000","text":"x"}`, CodeBadFrame},
		{`{"type":"text","id":"a","text":"` + strings.Repeat("x", 4097) + `"}`, CodeTooLarge},
		{`{"type":"press","id":"a","payload":"` + strings.Repeat("p", 65) + `"}`, CodeBadFrame},
		{`{"type":"TEXT","id":"a","text":"x"}`, CodeBadFrame},
	}
	for _, c := range bad {
		_, err := DecodeFrame([]byte(c.in), 4096)
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Code != c.code {
			t.Errorf("%.60s: err %v, want code %s", c.in, err, c.code)
		}
	}
}

func TestDecodeFrameClipsProfile(t *testing.T) {
	f, err := DecodeFrame([]byte(`{"type":"hello","profile":{"first_name":"`+strings.Repeat("ё", 100)+`"}}`), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Profile.FirstName); n > maxNameLen || !strings.HasPrefix(f.Profile.FirstName, "ёё") {
		t.Fatalf("first name %d bytes", n)
	}
}

func TestSessionIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := NewSessionID()
		if err != nil || !ValidSessionID(id) || seen[id] || id[0] == '-' || IsGroup(id) {
			t.Fatalf("id %q, %v (seen %v)", id, err, seen[id])
		}
		seen[id] = true
	}
	for _, s := range []string{"", "abc", strings.Repeat("A", 21), strings.Repeat("A", 22) + "=", "AAAAAAAAAAAAAAAAAAAA+/", "AAAAAAAAAAAAAAAAAAAAAB"} {
		if ValidSessionID(s) {
			t.Errorf("ValidSessionID(%q) = true", s)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	for _, name := range []string{"voronka-widget.js", "index.html"} {
		b, err := fs.ReadFile(Static(), name)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		f, err := StaticHTTP().Open("/" + name)
		if err != nil {
			t.Fatalf("http %s: %v", name, err)
		}
		f.Close()
	}
}

// FuzzDecodeFrame: any bytes give a frame or a *FrameError, never a panic;
// an accepted frame survives a round trip through JSON.
func FuzzDecodeFrame(f *testing.F) {
	sid, _ := NewSessionID()
	for _, s := range []string{
		`{"type":"hello","session":"` + sid + `","bot":"demo","profile":{"first_name":"A"},"last_seen":3}`,
		`{"type":"text","id":"1","text":"hi"}`,
		`{"type":"press","id":"2","payload":"p","label":"L"}`,
		`{"type":"ping"}`, `{`, `[]`, `{"type":1}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := DecodeFrame(data, 4096)
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FrameError", err)
			}
			return
		}
		b, err := json.Marshal(fr)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeFrame(b, 4096)
		if err != nil {
			t.Fatalf("re-encoded frame %s refused: %v", b, err)
		}
		if !reflect.DeepEqual(again, fr) {
			t.Fatalf("round trip:\n%+v\n%+v", fr, again)
		}
	})
}
