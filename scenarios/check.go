package scenarios

import (
	"errors"
	"fmt"
)

// The checks of faults and models are written once, here in the format
// package, and called by both the validator (Load, otwin validate) and the
// twin (faults injected at run time, scenarios built in code). A check
// reports Findings located by field; the validator turns a field into
// file:line:col, the twin into an error naming the field.

// Finding is one problem a check found in a fault or a model.
type Finding struct {
	// Field is the path of the field concerned, relative to what was
	// checked: "rate" of a fault, "model.sine.period" of a tag; "" for
	// the whole.
	Field string
	// Msg says what is wrong.
	Msg string
	// Hint says how to fix it; may be empty.
	Hint string
	// Key places the finding at the field's key rather than its value (a
	// key that should not be there).
	Key bool
	// Missing means the field is absent: the validator reports it where
	// its owner is.
	Missing bool
}

// String formats f as "field: msg (hint)".
func (f Finding) String() string {
	s := f.Msg
	if f.Field != "" {
		s = f.Field + ": " + s
	}
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// FindingsError joins findings into one error, one "field: msg" each;
// nil when there are none.
func FindingsError(fs []Finding) error {
	errs := make([]error, len(fs))
	for i, f := range fs {
		errs[i] = errors.New(f.String())
	}
	return errors.Join(errs...)
}

// findings collects findings.
type findings []Finding

func (fs *findings) add(field, hint, format string, args ...any) {
	*fs = append(*fs, Finding{Field: field, Msg: fmt.Sprintf(format, args...), Hint: hint})
}
