package connectors

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"time"
)

// Kind is one kind of connector — one protocol — as the sources file and
// the collector know it. A kind owns its configuration type (the section a
// sources file writes under the kind's Name, documented by the type's doc
// comments, which also make its part of the file's JSON schema), the
// validation of that section, the syntax and canonical form of its point
// addresses, and the constructor of its connectors.
//
// A kind lives in its own package, which registers it from init with
// Register; connectors/all imports every kind package. Adding a kind is
// therefore one package plus one import line in connectors/all.
type Kind struct {
	// Name is the key of the kind's section in a sources file and the
	// kind's Health.Protocol: "opcua", "modbus". Lower case letters and
	// digits.
	Name string
	// Title names the protocol for people: "OPC UA", "Modbus TCP".
	Title string
	// PointKey is the key of a point's address in a sources file: "node"
	// for OPC UA, "register" for Modbus.
	PointKey string
	// PointSyntax shows the address syntax in messages, e.g.
	// "table:address:type[:order], e.g. holding:100:float32".
	PointSyntax string
	// PointDoc documents PointKey in the sources file's JSON schema.
	PointDoc string
	// NewConfig returns a new configuration of the kind holding its
	// defaults: what the kind's section of a sources file is decoded into,
	// so that a key the file leaves out keeps its default and one it sets
	// to zero is zero. It is a pointer to a struct with yaml and json tags.
	NewConfig func() Config
	// ParseAddress checks one point address and returns its canonical
	// form: two spellings of one point have the same canonical form. The
	// error names the address and what is wrong with it.
	ParseAddress func(addr string) (canonical string, err error)
	// Describes says the endpoint describes its points (OPC UA's
	// EngineeringUnits and EURange): a point may leave its unit and range
	// to it, so clamp needs no configured range.
	Describes bool
	// Isolate says the kind's connectors run in a child process unless a
	// source says otherwise: set for kinds whose client library a broken
	// or hostile endpoint can crash or exhaust.
	Isolate bool
}

// Config is the configuration of one endpoint of a kind: the kind's
// section of a sources file, decoded. Implementations are pointers to
// structs whose yaml and json tags are the file's keys; fields a sources
// file must not set (the endpoint's name, its points, a logger) are tagged
// "-" and filled by NewConnector.
type Config interface {
	// Check checks the settings alone, as a sources file writes them:
	// without the points, without contacting the endpoint and without
	// reading files. It returns nil or every problem at once, joined;
	// each problem is a *FieldError naming the key it is about.
	Check() error
	// Discovery says whether the connector finds points by itself (a
	// source then needs no configured point), and where they go; nil
	// when it reads only the configured points.
	Discovery() *Discovery
	// UpdateInterval is how often a point is read: the poll interval
	// with defaults applied, or 0 when the endpoint sends changes as they
	// happen (a subscription). Data-quality rules derive their defaults
	// from it.
	UpdateInterval() time.Duration
	// NewConnector validates the whole configuration (settings, points,
	// files it names) and returns a connector named name reading points
	// (addresses as the sources file writes them), ready to Run. It does
	// not change the Config.
	NewConnector(name string, points []string, env Env) (Connector, error)
}

// Discovery is how a connector that finds points by itself maps them:
// the normalizer makes an asset path and tag of each from AssetPrefix and
// the point's path below the discovery root.
type Discovery struct {
	// AssetPrefix is the asset path the points found hang under; may be
	// empty.
	AssetPrefix string
	// PrefixKey is the key of AssetPrefix in the kind's section, for
	// messages about it.
	PrefixKey string
}

// Env is what the running process gives every connector.
type Env struct {
	// DataDir is where connectors keep state, e.g. a generated OPC UA
	// client certificate.
	DataDir string
	// Logger receives the connector's log; nil is slog.Default().
	Logger *slog.Logger
}

// FieldError is one problem of a configuration, at one of its keys.
type FieldError struct {
	// Key is the yaml key of the field within the kind's section, e.g.
	// "url"; empty for the section as a whole.
	Key string
	// Err says what is wrong; its text names the key and the value.
	Err error
}

// Error is Err's text.
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// FieldErrorf returns a *FieldError at key with a formatted message.
func FieldErrorf(key, format string, args ...any) error {
	return &FieldError{Key: key, Err: fmt.Errorf(format, args...)}
}

// FieldErrors returns the problems in err (as Config.Check returns it),
// in order: each *FieldError found in a tree of joined errors, and any
// other error as a FieldError with no key.
func FieldErrors(err error) []FieldError {
	if err == nil {
		return nil
	}
	if fe, ok := err.(*FieldError); ok {
		return []FieldError{*fe}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []FieldError
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []FieldError{{Key: fe.Key, Err: err}}
	}
	return []FieldError{{Err: err}}
}

var registry = struct {
	sync.RWMutex
	byName map[string]*Kind
	byType map[reflect.Type]*Kind
}{byName: map[string]*Kind{}, byType: map[reflect.Type]*Kind{}}

// Register adds a connector kind; kind packages call it from init. It
// panics when the kind is incomplete or its name or configuration type is
// already registered: both are programming errors.
func Register(k Kind) {
	if k.Name == "" || k.Title == "" || k.PointKey == "" || k.NewConfig == nil || k.ParseAddress == nil {
		panic(fmt.Sprintf("connectors.Register: kind %q is incomplete", k.Name))
	}
	t := reflect.TypeOf(k.NewConfig())
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("connectors.Register: kind %q: NewConfig must return a pointer to a struct, not %v", k.Name, t))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byName[k.Name]; dup {
		panic(fmt.Sprintf("connectors.Register: kind %q registered twice", k.Name))
	}
	if other, dup := registry.byType[t]; dup {
		panic(fmt.Sprintf("connectors.Register: kind %q: configuration type %v is kind %q's", k.Name, t, other.Name))
	}
	kk := k
	registry.byName[k.Name] = &kk
	registry.byType[t] = &kk
}

// Lookup returns the kind named name.
func Lookup(name string) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.byName[name]
	if !ok {
		return Kind{}, false
	}
	return *k, true
}

// KindOf returns the kind whose configuration type cfg is.
func KindOf(cfg Config) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.byType[reflect.TypeOf(cfg)]
	if !ok {
		return Kind{}, false
	}
	return *k, true
}

// Kinds returns every registered kind, sorted by name.
func Kinds() []Kind {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Kind, 0, len(registry.byName))
	for _, k := range registry.byName {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// KindNames returns the names of the registered kinds, sorted.
func KindNames() []string {
	ks := Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Name
	}
	return names
}

// ZeroConfig returns a new zero configuration of the kind (not holding
// its defaults): what an encoded configuration that carries every field
// is decoded into.
func (k Kind) ZeroConfig() Config {
	t := reflect.TypeOf(k.NewConfig()).Elem()
	return reflect.New(t).Interface().(Config)
}

// Spec is one endpoint to read: what a sources file says of one source,
// for the kind's constructor.
type Spec struct {
	// Name is the endpoint's name (Reading.Source).
	Name string
	// Config is the kind's configuration; its type names the kind.
	Config Config
	// Points are the point addresses as the sources file writes them.
	Points []string
}

// Kind returns the kind of s.Config.
func (s Spec) Kind() (Kind, error) {
	if s.Config == nil {
		return Kind{}, fmt.Errorf("source %s: no connector configuration", s.Name)
	}
	k, ok := KindOf(s.Config)
	if !ok {
		return Kind{}, fmt.Errorf("source %s: configuration type %T is no registered connector kind", s.Name, s.Config)
	}
	return k, nil
}

// New builds the connector of s in this process.
func (s Spec) New(env Env) (Connector, error) {
	if _, err := s.Kind(); err != nil {
		return nil, err
	}
	return s.Config.NewConnector(s.Name, s.Points, env)
}
