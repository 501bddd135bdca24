package sshserve

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/otwin/otwin/role"

	"github.com/goccy/go-yaml"
	gossh "golang.org/x/crypto/ssh"
)

// User is one person who may log in.
type User struct {
	// Name identifies the user in the audit log and the UI.
	Name string `yaml:"name"`
	// Role is one of role.All. What each may do is decided by the caller
	// (the actions the session's model is given), not by this package.
	Role string `yaml:"role"`
	// Keys are the user's public keys, one authorized_keys line each
	// ("ssh-ed25519 AAAA… comment").
	Keys []string `yaml:"keys"`
	// AllowFaults lets an engineer inject faults and control the clock
	// (trainers always may).
	AllowFaults bool `yaml:"allow_faults,omitempty"`

	keys []gossh.PublicKey
}

// Users is a users file: who may log in, with which keys and role.
//
//	users:
//	  - name: alice
//	    role: maintenance
//	    keys:
//	      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI… alice@laptop
//	  - name: tom
//	    role: trainer
//	    keys: [ "ssh-ed25519 AAAA… tom" ]
type Users struct {
	Users []User `yaml:"users"`

	byKey map[string]*User
}

// LoadUsers reads and checks a users file; every problem is reported with
// the file and the user it concerns.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(path, data)
}

// ParseUsers parses a users file's content; name is used in errors.
func ParseUsers(name string, data []byte) (*Users, error) {
	var u Users
	if err := yaml.UnmarshalWithOptions(data, &u, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, true))
	}
	var errs []error
	u.byKey = map[string]*User{}
	names := map[string]bool{}
	for i := range u.Users {
		usr := &u.Users[i]
		where := fmt.Sprintf("%s: users[%d] (%s)", name, i, usr.Name)
		if usr.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		}
		if names[usr.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate user %q", where, usr.Name))
		}
		names[usr.Name] = true
		if !validRole(usr.Role) {
			errs = append(errs, fmt.Errorf("%s: unknown role %q (one of %s)", where, usr.Role, strings.Join(role.Names(), ", ")))
		}
		if len(usr.Keys) == 0 {
			errs = append(errs, fmt.Errorf("%s: no keys", where))
		}
		for j, line := range usr.Keys {
			k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: keys[%d]: %v", where, j, err))
				continue
			}
			id := string(k.Marshal())
			if other, dup := u.byKey[id]; dup {
				errs = append(errs, fmt.Errorf("%s: keys[%d] is also %s's key", where, j, other.Name))
				continue
			}
			usr.keys = append(usr.keys, k)
			u.byKey[id] = usr
		}
	}
	if len(u.Users) == 0 {
		errs = append(errs, fmt.Errorf("%s: no users", name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &u, nil
}

// Lookup returns the user owning key, or nil.
func (u *Users) Lookup(key gossh.PublicKey) *User {
	if u == nil || key == nil {
		return nil
	}
	return u.byKey[string(key.Marshal())]
}

func validRole(r string) bool { return role.Role(r).Known() }
