package server

import (
	"mime"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// sameOrigin refuses a state-changing /api request (POST, PUT, PATCH,
// DELETE) that a browser sent from another site, on top of the CSRF token:
// it also covers /api/login, which has no session and so no token yet (login
// CSRF). Browsers say where a request comes from in Sec-Fetch-Site and
// Origin (Referer when both are missing); a request with neither is not
// from a browser page and goes on to the token checks. Requests with the
// bearer API token are automation, not a browser's cookie: they pass (a
// page on another site cannot set the header without CORS, which the API
// does not offer).
func (s *Server) sameOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if strings.HasPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ") {
		return c.Next()
	}
	if !s.fromOwnSite(c) {
		s.log.Warn("cross-site request refused", "method", c.Method(), "path", c.Path(), "origin", c.Get(fiber.HeaderOrigin),
			"sec_fetch_site", c.Get("Sec-Fetch-Site"), "ip", c.IP())
		return &apiError{Status: fiber.StatusForbidden, Msg: "cross-site request refused"}
	}
	return c.Next()
}

// fromOwnSite reports whether a browser request comes from a page of this
// server: Sec-Fetch-Site says same-origin (or none: typed by the person),
// or the Origin (else the Referer) is this server's host or its public URL.
func (s *Server) fromOwnSite(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
		if origin == "" {
			ref := c.Get(fiber.HeaderReferer)
			if ref == "" {
				return true // not a browser page
			}
			origin = ref
		}
	}
	// same-site, cross-site, or an older browser: the origin decides.
	return s.ownOrigin(c, origin)
}

// ownOrigin reports whether origin (or a URL) is this server: the host the
// request was sent to, or the public URL (behind a proxy that rewrites Host).
func (s *Server) ownOrigin(c *fiber.Ctx, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null", a file, garbage
	}
	if strings.EqualFold(u.Host, c.Hostname()) {
		return true
	}
	if s.cfg.PublicURL != "" {
		if pub, err := url.Parse(s.cfg.PublicURL); err == nil && pub.Host != "" &&
			strings.EqualFold(pub.Scheme, u.Scheme) && strings.EqualFold(pub.Host, u.Host) {
			return true
		}
	}
	return false
}

// jsonBody reports whether the request says its body is JSON. A page on
// another site can post text/plain or a form without asking first; JSON
// needs a CORS preflight, which this server never grants.
func jsonBody(c *fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	return err == nil && mt == fiber.MIMEApplicationJSON
}

// Security headers. The builder's CSP allows only its own scripts; React
// Flow positions nodes with inline styles, hence style-src 'unsafe-inline'.
// Nothing of the builder or the API may be framed (clickjacking); the web
// chat demo page and the widget script (/widget/) are made to be embedded
// and get only nosniff and the referrer policy.
const (
	builderCSP     = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
	apiCSP         = "default-src 'none'; frame-ancestors 'none'"
	referrerPolicy = "strict-origin-when-cross-origin"
)

// securityHeaders sets the headers every answer carries.
func securityHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, referrerPolicy)
	return c.Next()
}

// noFraming sets the CSP of the builder or of the API and forbids framing.
func noFraming(csp string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, csp)
		c.Set(fiber.HeaderXFrameOptions, "DENY")
		return c.Next()
	}
}
