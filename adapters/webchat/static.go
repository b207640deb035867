package webchat

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Static returns the widget and the demo page (voronka-widget.js,
// index.html) as a file system rooted at the files themselves, for the
// server to mount at /widget/ (and the demo page at /).
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// "static" is embedded above: fs.Sub cannot fail on it.
		return static
	}
	return sub
}

// StaticHTTP is Static as an http.FileSystem, for net/http or Fiber's
// filesystem middleware.
func StaticHTTP() http.FileSystem { return http.FS(Static()) }
