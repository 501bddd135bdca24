package opcua

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/ua"
)

// nodeRef is a parsed node string: a namespace given by URI (empty for
// namespace 0) and the identifier part ("s=…", "i=…", "g=…", "b=…").
type nodeRef struct {
	// uri is the namespace URI; empty for namespace 0.
	uri string
	// id is the identifier part, e.g. "s=Line1.Temp".
	id string
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ParseNode checks a node id as otwin writes it — in a sources file, in
// Config.Nodes and Config.BrowseRoot — and returns it unchanged as its
// canonical form (Reading.Address is the node id exactly as written). The
// one rule:
//
//   - "nsu=<namespace uri>;<id>", or "<id>" alone for namespace 0;
//   - <id> is i=<uint32>, s=<string>, g=<guid> or b=<base64>;
//   - a namespace index ("ns=2;…") is refused: indexes can change when a
//     server restarts, URIs do not.
//
// Errors name the node id and what is wrong. ParseNode is a pure function.
func ParseNode(s string) (string, error) {
	if _, err := parseNode(s); err != nil {
		return "", err
	}
	return s, nil
}

// SplitNode checks a node id as ParseNode does and returns its namespace
// URI ("" for namespace 0) and its identifier part ("s=…", "i=…", "g=…"
// or "b=…"). It is a pure function.
func SplitNode(s string) (namespaceURI, id string, err error) {
	r, err := parseNode(s)
	if err != nil {
		return "", "", err
	}
	return r.uri, r.id, nil
}

// parseNode parses s by the rule of ParseNode.
func parseNode(s string) (nodeRef, error) {
	var r nodeRef
	rest := s
	switch {
	case strings.HasPrefix(s, "nsu="):
		uri, after, found := strings.Cut(s[len("nsu="):], ";")
		if !found {
			return r, fmt.Errorf("node id %q: nsu= needs \";<id>\" after the namespace URI, e.g. nsu=urn:plc;s=Line1.Temp", s)
		}
		if uri == "" {
			return r, fmt.Errorf("node id %q: empty namespace URI", s)
		}
		r.uri, rest = uri, after
	case strings.HasPrefix(s, "ns="):
		return r, fmt.Errorf("node id %q: use nsu=<namespace uri> instead of a namespace index (indexes can change when the server restarts)", s)
	}
	kind, v, ok := strings.Cut(rest, "=")
	if !ok || len(kind) != 1 || v == "" {
		return r, fmt.Errorf("node id %q: identifier must be i=<uint32>, s=<string>, g=<guid> or b=<base64>", s)
	}
	switch kind {
	case "i":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return r, fmt.Errorf("node id %q: numeric id %q is not a uint32", s, v)
		}
	case "s":
	case "g":
		if !guidRE.MatchString(v) {
			return r, fmt.Errorf("node id %q: %q is not a GUID", s, v)
		}
	case "b":
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			return r, fmt.Errorf("node id %q: %q is not base64", s, v)
		}
	default:
		return r, fmt.Errorf("node id %q: identifier must be i=<uint32>, s=<string>, g=<guid> or b=<base64>", s)
	}
	r.id = rest
	if kind == "s" {
		return r, nil // any string is an id in any namespace
	}
	if _, err := r.nodeID(1); err != nil {
		return r, fmt.Errorf("node id %q: %w", s, err)
	}
	return r, nil
}

// nodeID builds the node id in namespace ns.
func (r nodeRef) nodeID(ns uint16) (*ua.NodeID, error) {
	id, err := ua.ParseNodeID(fmt.Sprintf("ns=%d;%s", ns, r.id))
	if err != nil {
		return nil, err
	}
	// ParseNodeID picks the smallest numeric encoding, which can drop the
	// namespace of a two-byte id; keep the namespace we asked for.
	if id.Namespace() != ns {
		return nil, fmt.Errorf("namespace %d not representable for %q", ns, r.id)
	}
	return id, nil
}

// resolve finds the namespace index of r in the server's namespace array.
func (r nodeRef) resolve(namespaces []string) (*ua.NodeID, error) {
	if r.uri == "" {
		return r.nodeID(0)
	}
	for i, u := range namespaces {
		if u == r.uri {
			return r.nodeID(uint16(i))
		}
	}
	return nil, fmt.Errorf("namespace %q not on server", r.uri)
}

// idPart is the identifier part of a node id, without its namespace:
// "s=…", "i=…", "g=…" or "b=…".
func idPart(id *ua.NodeID) string {
	s := id.String()
	if strings.HasPrefix(s, "ns=") {
		if semi := strings.IndexByte(s, ';'); semi >= 0 {
			return s[semi+1:]
		}
	}
	return s
}

// canonicalAddress is "nsu=<uri>;<id part>" for a node found by browsing;
// nodes in namespace 0 or in an index the array does not name keep the
// plain form.
func canonicalAddress(id *ua.NodeID, namespaces []string) string {
	ns := int(id.Namespace())
	if ns == 0 || ns >= len(namespaces) {
		return id.String()
	}
	return "nsu=" + namespaces[ns] + ";" + idPart(id)
}
