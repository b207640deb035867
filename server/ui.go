package server

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// mountUI serves the builder (Config.UI, the built builder-ui) at /app/.
// Paths without a file fall back to index.html, so the single-page app's
// own routes survive a reload. Hashed assets are cached for long; the index
// never, so a new release is picked up at once. The builder's pages carry
// its Content-Security-Policy and may not be framed.
func (s *Server) mountUI() {
	if s.cfg.UI == nil {
		return
	}
	s.app.Use("/app", noFraming(builderCSP))
	s.app.Use("/app/assets", filesystem.New(filesystem.Config{Root: http.FS(s.cfg.UI), PathPrefix: "assets", MaxAge: 365 * 24 * 3600}))
	s.app.Use("/app", func(c *fiber.Ctx) error {
		if c.Path() == "/app" {
			return c.Redirect("/app/", fiber.StatusFound)
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(s.cfg.UI), Index: "index.html", NotFoundFile: "index.html"}))
}
