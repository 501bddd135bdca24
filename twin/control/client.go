package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin"
)

// Client talks to a twin's control API. It is safe for concurrent use.
// Every method returns *APIError when the twin answered with an error, and
// an error wrapping ErrUnreachable when it could not be reached.
type Client struct {
	base  string
	http  *http.Client
	token string // sent as "Authorization: Bearer <token>"
	user  string // sent as UserHeader
}

// ErrUnreachable: the control endpoint did not answer.
var ErrUnreachable = errors.New("twin control API not reachable")

// APIError is an error answered by the control API.
type APIError struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Message is the body's "error".
	Message string
}

// Error formats e as "<message> (HTTP <code>)".
func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
}

// NewClient returns a client for the control API at base, e.g.
// "http://127.0.0.1:8089" ("host:port" gets http://). hc may be nil
// (a client with a 10 s timeout).
func NewClient(base string, hc *http.Client) (*Client, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return nil, errors.New("control URL is empty")
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("control URL %q: want http://host:port", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimRight(u.String(), "/"), http: hc}, nil
}

// WithToken returns a copy of c that sends token with every call.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// As returns a copy of c whose calls name user (UserHeader) as the person
// they are made for, for the twin's audit.
func (c *Client) As(user string) *Client {
	cp := *c
	cp.user = user
	return &cp
}

// Ready is what a client needs from a twin's ready file.
type Ready struct {
	// Control is the control API's URL.
	Control string `json:"control"`
	// Token is the control API's token ("" when the twin needs none).
	Token string `json:"token,omitempty"`
}

// ReadReady reads the "control" and "token" fields of a twin's ready file
// (a JSON object); "control" is required.
func ReadReady(path string) (Ready, error) {
	var r Ready
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("ready file: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("ready file %s: %w", path, err)
	}
	if r.Control == "" {
		return r, fmt.Errorf("ready file %s: no \"control\" field", path)
	}
	return r, nil
}

// ReadyFile reads the control URL from the "control" field of a twin's
// ready file (a JSON object).
func ReadyFile(path string) (string, error) {
	r, err := ReadReady(path)
	return r.Control, err
}

// URL returns the client's base URL.
func (c *Client) URL() string { return c.base }

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.user != "" {
		req.Header.Set(UserHeader, c.user)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%w at %s: reading the answer: %w", ErrUnreachable, c.base, err)
	}
	if resp.StatusCode >= 300 {
		var e ErrorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
			if e.Error == "" {
				e.Error = http.StatusText(resp.StatusCode)
			}
		}
		return &APIError{StatusCode: resp.StatusCode, Message: e.Error}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// Status returns the twin's clock status.
func (c *Client) Status(ctx context.Context) (twin.Status, error) {
	var s twin.Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// Faults lists the twin's defined and active faults.
func (c *Client) Faults(ctx context.Context) ([]twin.FaultStatus, error) {
	var fs []twin.FaultStatus
	err := c.do(ctx, http.MethodGet, "/v1/faults", nil, &fs)
	return fs, err
}

// InjectNamed starts the scenario's fault name.
func (c *Client) InjectNamed(ctx context.Context, name string) (twin.FaultStatus, error) {
	var s twin.FaultStatus
	err := c.do(ctx, http.MethodPost, "/v1/faults", FaultRequest{Name: name}, &s)
	return s, err
}

// Inject starts an ad-hoc fault.
func (c *Client) Inject(ctx context.Context, f scenarios.Fault) (twin.FaultStatus, error) {
	var s twin.FaultStatus
	err := c.do(ctx, http.MethodPost, "/v1/faults", f, &s)
	return s, err
}

// Clear ends the active fault name.
func (c *Client) Clear(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/faults/"+url.PathEscape(name), nil, nil)
}

// Pause pauses the twin's clock.
func (c *Client) Pause(ctx context.Context) (twin.Status, error) {
	return c.clock(ctx, ClockRequest{Action: "pause"})
}

// Resume resumes the twin's clock.
func (c *Client) Resume(ctx context.Context) (twin.Status, error) {
	return c.clock(ctx, ClockRequest{Action: "resume"})
}

// SetSpeed sets the twin's speed multiplier.
func (c *Client) SetSpeed(ctx context.Context, f float64) (twin.Status, error) {
	return c.clock(ctx, ClockRequest{Action: "speed", Speed: f})
}

func (c *Client) clock(ctx context.Context, r ClockRequest) (twin.Status, error) {
	var s twin.Status
	err := c.do(ctx, http.MethodPost, "/v1/clock", r, &s)
	return s, err
}

// Step runs n ticks and returns the status after them.
func (c *Client) Step(ctx context.Context, n int) (twin.Status, error) {
	var s twin.Status
	err := c.do(ctx, http.MethodPost, "/v1/step", StepRequest{Ticks: n}, &s)
	return s, err
}

// Events returns the events with Seq >= since and the next cursor.
func (c *Client) Events(ctx context.Context, since int) ([]twin.Event, int, error) {
	var r EventsResponse
	err := c.do(ctx, http.MethodGet, "/v1/events?since="+strconv.Itoa(since), nil, &r)
	return r.Events, r.Next, err
}

// Tags returns every tag's current value, or those whose id or
// "machine/tag" starts with prefix.
func (c *Client) Tags(ctx context.Context, prefix string) ([]TagValue, error) {
	var ts []TagValue
	path := "/v1/tags"
	if prefix != "" {
		path += "?prefix=" + url.QueryEscape(prefix)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &ts)
	return ts, err
}

// Tag returns one tag ("machine/tag" or its full id) with its value.
func (c *Client) Tag(ctx context.Context, id string) (TagValue, error) {
	var t TagValue
	err := c.do(ctx, http.MethodGet, "/v1/tags/"+escapeID(id), nil, &t)
	return t, err
}

// Write writes v to the tag id as a client would (a setpoint change) and
// returns the tag with its new value.
func (c *Client) Write(ctx context.Context, id string, v any) (TagValue, error) {
	var t TagValue
	err := c.do(ctx, http.MethodPost, "/v1/tags/"+escapeID(id), WriteRequest{Value: v}, &t)
	return t, err
}

// escapeID escapes each segment of a tag id.
func escapeID(id string) string {
	segs := strings.Split(id, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
