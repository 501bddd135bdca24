package uns

import (
	"bytes"
	"encoding/json"

	"github.com/otwin/otwin/ctxrole"
	"github.com/otwin/otwin/normalize"
)

// DecodeContext decodes a payload's "context" object (see AppendSample):
// the values of the context roles (ctxrole) and "since". An absent, null
// or empty object is no context (nil). Keys that are not context roles
// are ignored; a value that is not a string, or a "since" that is not an
// RFC 3339 time, is an error naming it.
func DecodeContext(raw json.RawMessage) (*normalize.Context, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, malformed("context: not a JSON object")
	}
	var vals [ctxrole.N]string
	set := false
	for i, r := range ctxrole.All {
		v, ok := m[string(r)]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, &vals[i]); err != nil {
			return nil, malformed("context.%s: not a string", r)
		}
		set = set || vals[i] != ""
	}
	var since string
	if v, ok := m["since"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &since); err != nil {
			return nil, malformed("context.since: not a string")
		}
	}
	at, err := parseTime("context.since", since)
	if err != nil {
		return nil, err
	}
	if !set {
		return nil, nil
	}
	return normalize.NewContext(vals, at), nil
}

// ContextCache decodes the context objects of a stream of payloads,
// keeping one *normalize.Context per key (an asset) while its object stays
// the same: the samples of an asset share one context, as a collector's
// do. It is not safe for concurrent use.
type ContextCache struct {
	last map[string]cachedContext
}

type cachedContext struct {
	raw string
	c   *normalize.Context
}

// Decode returns the context raw says for key: the one returned before
// when raw is unchanged, else a new one (see DecodeContext).
func (cc *ContextCache) Decode(key string, raw json.RawMessage) (*normalize.Context, error) {
	raw = bytes.TrimSpace(raw)
	if e, ok := cc.last[key]; ok && e.raw == string(raw) {
		return e.c, nil
	}
	c, err := DecodeContext(raw)
	if err != nil {
		return nil, err
	}
	if cc.last == nil {
		cc.last = make(map[string]cachedContext)
	}
	cc.last[key] = cachedContext{raw: string(raw), c: c}
	return c, nil
}

// Forget drops what the cache keeps for key.
func (cc *ContextCache) Forget(key string) { delete(cc.last, key) }
