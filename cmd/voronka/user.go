package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/voronka/voronka/engine/store"
	"github.com/voronka/voronka/server"
)

const userUsage = `usage:
  voronka user add LOGIN [--role admin|marketer|operator] [--name NAME] [--password PASSWORD] [serve flags]
  voronka user list [serve flags]

Without --password, add reads the password from the first line of standard input.
The store is the one voronka serve uses (--data, --mongo, --config, VORONKA_* variables);
stop voronka serve first when it uses the bolt file, which only one process can open.
`

// cmdUser manages the people who sign in to the builder.
func cmdUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	sub, rest := args[0], args[1:]
	var login, name, password string
	role := string(store.RoleMarketer)
	var serveArgs []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		flagName, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
			if login != "" {
				fmt.Fprintf(stderr, "voronka user: unexpected argument %q\n", a)
				return 2
			}
			login = a
			continue
		case flagName == "role" || flagName == "name" || flagName == "password":
			if !hasVal {
				if i+1 >= len(rest) {
					fmt.Fprintf(stderr, "voronka user: --%s needs a value\n", flagName)
					return 2
				}
				i++
				val = rest[i]
			}
			switch flagName {
			case "role":
				role = val
			case "name":
				name = val
			case "password":
				password = val
			}
			continue
		}
		serveArgs = append(serveArgs, a)
		if !hasVal && i+1 < len(rest) && !strings.HasPrefix(rest[i+1], "-") {
			i++
			serveArgs = append(serveArgs, rest[i])
		}
	}
	cfg, err := loadServeConfig(serveArgs, os.Getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "voronka user: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch sub {
	case "add":
		if login == "" {
			fmt.Fprint(stderr, userUsage)
			return 2
		}
		if password == "" {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				fmt.Fprintf(stderr, "voronka user: read the password: %v\n", err)
				return 1
			}
			password = strings.TrimRight(line, "\r\n")
		}
		u, err := server.NewUser(login, name, store.Role(role), password)
		if err != nil {
			fmt.Fprintf(stderr, "voronka user: %v\n", err)
			return 2
		}
		return withStore(ctx, cfg, stderr, func(st store.Store) error {
			if old, err := st.GetUserByLogin(ctx, u.Login); err == nil {
				u.ID, u.CreatedAt = old.ID, old.CreatedAt // replaces the password and role
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := st.PutUser(ctx, u); err != nil {
				return fmt.Errorf("save user %s: %w", u.Login, err)
			}
			fmt.Fprintf(stdout, "user %s (%s) saved\n", u.Login, u.Role)
			return nil
		})
	case "list":
		return withStore(ctx, cfg, stderr, func(st store.Store) error {
			us, err := st.ListUsers(ctx)
			if err != nil {
				return fmt.Errorf("list users: %w", err)
			}
			for _, u := range us {
				fmt.Fprintf(stdout, "%s\t%s\t%s\n", u.Login, u.Role, u.Name)
			}
			return nil
		})
	}
	fmt.Fprint(stderr, userUsage)
	return 2
}

func withStore(ctx context.Context, cfg serveConfig, stderr io.Writer, do func(store.Store) error) int {
	st, err := openStore(ctx, cfg, newLogger(stderr, "warn"))
	if err != nil {
		fmt.Fprintf(stderr, "voronka user: %v\n", err)
		return 1
	}
	defer st.Close(context.Background())
	if err := do(st); err != nil {
		fmt.Fprintf(stderr, "voronka user: %v\n", err)
		return 1
	}
	return 0
}
