package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/voronka/voronka/engine/store"
)

// userJSON is a user as the API shows it: never the password hash.
type userJSON struct {
	ID        string     `json:"id"`
	Login     string     `json:"login"`
	Name      string     `json:"name,omitempty"`
	Role      store.Role `json:"role"`
	CreatedAt time.Time  `json:"created_at,omitzero"`
	// Queues and Capacity place the user in the operator inbox.
	Queues   []string `json:"queues"`
	Capacity int      `json:"capacity"`
}

func toUserJSON(u store.User) userJSON {
	qs := u.Queues
	if qs == nil {
		qs = []string{}
	}
	return userJSON{ID: u.ID, Login: u.Login, Name: u.Name, Role: u.Role, CreatedAt: u.CreatedAt, Queues: qs, Capacity: u.MaxOpen()}
}

// ValidRole reports whether r is a known role.
func ValidRole(r store.Role) bool {
	return r == store.RoleAdmin || r == store.RoleMarketer || r == store.RoleOperator
}

// NewUser builds a user with a fresh id and the bcrypt hash of password.
func NewUser(login, name string, role store.Role, password string) (store.User, error) {
	login = strings.TrimSpace(login)
	if login == "" || len(login) > 64 || strings.ContainsAny(login, " \t\r\n") {
		return store.User{}, errors.New("the login must be 1–64 characters without spaces")
	}
	if !ValidRole(role) {
		return store.User{}, fmt.Errorf("unknown role %q (admin, marketer or operator)", role)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return store.User{}, fmt.Errorf("user id: %w", err)
	}
	return store.User{ID: "u-" + hex.EncodeToString(b), Login: login, Name: name, Role: role, PasswordHash: hash,
		CreatedAt: time.Now().UTC()}, nil
}

// EnsureAdmin creates the first admin when the store has no users yet and
// a login and password are given (VORONKA_ADMIN_LOGIN, VORONKA_ADMIN_PASSWORD).
// It reports whether it created one.
func EnsureAdmin(ctx context.Context, users store.Users, login, password string) (bool, error) {
	if login == "" || password == "" {
		return false, nil
	}
	existing, err := users.ListUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("list users: %w", err)
	}
	if len(existing) > 0 {
		return false, nil
	}
	u, err := NewUser(login, "", store.RoleAdmin, password)
	if err != nil {
		return false, fmt.Errorf("first admin: %w", err)
	}
	if err := users.PutUser(ctx, u); err != nil {
		return false, fmt.Errorf("save the first admin: %w", err)
	}
	return true, nil
}

func (s *Server) mountUsers(api fiber.Router) {
	admin := allow()
	api.Get("/users", admin, s.listUsers)
	api.Post("/users", admin, s.createUser)
	api.Put("/users/:id", admin, s.updateUser)
	api.Delete("/users/:id", admin, s.deleteUser)
}

func (s *Server) listUsers(c *fiber.Ctx) error {
	us, err := s.cfg.Store.ListUsers(c.UserContext())
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, toUserJSON(u))
	}
	return c.JSON(fiber.Map{"users": out})
}

type userRequest struct {
	Login    string     `json:"login"`
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	Password string     `json:"password"`
	// Queues (null: unchanged, []: every queue) and Capacity (0: unchanged
	// on update, the default on create).
	Queues   *[]string `json:"queues"`
	Capacity int       `json:"capacity"`
}

// inboxFields applies a request's queues and capacity to u.
func (req *userRequest) inboxFields(u *store.User) error {
	if req.Capacity < 0 || req.Capacity > 1000 {
		return fmt.Errorf("capacity is 1 to 1000 open chats")
	}
	if req.Capacity > 0 {
		u.Capacity = req.Capacity
	}
	if req.Queues != nil {
		var qs []string
		for _, q := range *req.Queues {
			q = strings.TrimSpace(q)
			if q == "" || len(q) > 64 || strings.ContainsFunc(q, func(r rune) bool { return r < 0x20 }) {
				return fmt.Errorf("a queue name is 1 to 64 characters without control characters")
			}
			if !slices.Contains(qs, q) {
				qs = append(qs, q)
			}
		}
		u.Queues = qs
	}
	return nil
}

func (s *Server) createUser(c *fiber.Ctx) error {
	var req userRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(`the body must be {"login", "name", "role", "password"}`, err.Error())
	}
	u, err := NewUser(req.Login, req.Name, req.Role, req.Password)
	if err != nil {
		return badRequest(err.Error(), nil)
	}
	if err := req.inboxFields(&u); err != nil {
		return badRequest(err.Error(), nil)
	}
	if err := s.cfg.Store.PutUser(c.UserContext(), u); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return &apiError{Status: fiber.StatusConflict, Msg: "a user with this login exists"}
		}
		return fmt.Errorf("save user %s: %w", u.Login, err)
	}
	s.log.Info("user created", "login", u.Login, "role", u.Role, "by", user(c))
	return c.Status(fiber.StatusCreated).JSON(toUserJSON(u))
}

// updateUser changes a user's name, role or password. A changed role or
// password ends the user's other sessions (an admin changing their own
// account stays signed in); the last admin cannot stop being one.
func (s *Server) updateUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u, err := s.cfg.Store.GetUser(ctx, c.Params("id"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user")
		}
		return fmt.Errorf("update user: %w", err)
	}
	var req userRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return badRequest(`the body must be {"name", "role", "password"}`, err.Error())
	}
	if req.Name != "" {
		u.Name = req.Name
	}
	if err := req.inboxFields(u); err != nil {
		return badRequest(err.Error(), nil)
	}
	changed := false
	if req.Role != "" && req.Role != u.Role {
		if !ValidRole(req.Role) {
			return badRequest(fmt.Sprintf("unknown role %q", req.Role), nil)
		}
		if u.Role == store.RoleAdmin {
			if err := s.keepAnAdmin(ctx, u.ID); err != nil {
				return err
			}
		}
		u.Role, changed = req.Role, true
	}
	if req.Password != "" {
		if u.PasswordHash, err = HashPassword(req.Password); err != nil {
			return badRequest(err.Error(), nil)
		}
		changed = true
	}
	if err := s.cfg.Store.PutUser(ctx, *u); err != nil {
		return fmt.Errorf("save user %s: %w", u.Login, err)
	}
	if changed {
		if err := s.sessions.dropUser(ctx, u.ID, ownSession(c)); err != nil {
			return err
		}
	}
	s.log.Info("user changed", "login", u.Login, "role", u.Role, "password", req.Password != "", "by", user(c))
	return c.JSON(toUserJSON(*u))
}

// ownSession is the session id of the caller, kept when they change their own account.
func ownSession(c *fiber.Ctx) string {
	if p, _ := c.Locals("principal").(*principal); p != nil {
		return p.SessionID
	}
	return ""
}

// keepAnAdmin refuses to demote or delete the admin id when no other admin
// exists: nobody could manage users any more.
func (s *Server) keepAnAdmin(ctx context.Context, id string) error {
	us, err := s.cfg.Store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	for _, o := range us {
		if o.ID != id && o.Role == store.RoleAdmin {
			return nil
		}
	}
	return &apiError{Status: fiber.StatusConflict, Msg: "this is the last admin; make someone else an admin first"}
}

func (s *Server) deleteUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Params("id")
	if p, _ := c.Locals("principal").(*principal); p != nil && p.UserID == id {
		return badRequest("you cannot delete yourself", nil)
	}
	u, err := s.cfg.Store.GetUser(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user")
		}
		return fmt.Errorf("delete user: %w", err)
	}
	if u.Role == store.RoleAdmin {
		if err := s.keepAnAdmin(ctx, id); err != nil {
			return err
		}
	}
	if err := s.cfg.Store.DeleteUser(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user")
		}
		return fmt.Errorf("delete user: %w", err)
	}
	if err := s.sessions.dropUser(ctx, id, ""); err != nil {
		return err
	}
	s.log.Info("user deleted", "login", u.Login, "by", user(c))
	return c.JSON(fiber.Map{"ok": true})
}
