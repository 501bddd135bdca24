package control

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// UserHeader names the person on whose behalf a call is made (the user of
// an SSH session whose fault panel or console made it). It is a claim of
// the caller, believed only because the caller holds the token, and is
// recorded in the audit as such.
const UserHeader = "X-Otwin-User"

// TokenEnv is the environment variable the CLI reads the token from.
const TokenEnv = "OTWIN_TOKEN"

// NewToken returns a random token: 32 bytes from crypto/rand, in hex.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Call is one request to the control API, as RequireToken reports it.
type Call struct {
	Time time.Time
	// Remote is the caller's address.
	Remote string
	// User is the UserHeader of an authenticated call ("" when absent).
	User string
	// Method and Path are the request's ("POST", "/v1/faults").
	Method, Path string
	// Status is the HTTP status answered.
	Status int
	// Refused says why the call was turned away (401), "" otherwise.
	Refused string
}

// RequireToken wraps h so that only requests carrying
// "Authorization: Bearer <token>" reach it; others get 401 with a JSON
// error and a WWW-Authenticate header. audit, when non-nil, is called once
// for every request (refused or not) after it was answered; it must be
// safe for concurrent use. An empty token refuses every request.
func RequireToken(token string, h http.Handler, audit func(Call)) http.Handler {
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		c := Call{Time: start, Remote: r.RemoteAddr, Method: r.Method, Path: r.URL.Path}
		got, ok := bearer(r)
		switch {
		case !ok:
			c.Refused = "no token"
		case len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1:
			c.Refused = "wrong token"
		}
		if c.Refused != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="otwin control"`)
			writeError(rec, http.StatusUnauthorized, c.Refused+": give the control token (--token, $"+TokenEnv+", or the ready file)")
		} else {
			c.User = r.Header.Get(UserHeader)
			h.ServeHTTP(rec, r)
		}
		if audit != nil {
			c.Status = rec.status
			audit(c)
		}
	})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(a, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// statusRecorder remembers the status code a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}
