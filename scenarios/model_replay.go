package scenarios

// Replay serves one point of a recording ('otwin watch --record'): the
// values and status codes its connector received, each at the offset it
// was received from the recording's start. Before the point's first
// reading the tag is Bad_WaitingForInitialData; a reading without a value
// (a Bad status) keeps the previous value with the new status; the
// readings of a lost link are left out (comm_loss faults replay those,
// see 'otwin scenario from-recording'). A write holds until the next
// recorded change.
type Replay struct {
	// File is the recording, relative to the scenario file's directory.
	File string `yaml:"file" json:"file"`
	// Source is the source (endpoint) the point was read from, as the
	// recording's sources file names it.
	Source string `yaml:"source" json:"source"`
	// Address is the point's address as the sources file writes it, e.g.
	// "nsu=urn:otwin:bottling;s=…/speed" or "input:14:float32:CDAB".
	Address string `yaml:"address" json:"address"`
	// Loop plays the recording again from its start after its end;
	// otherwise each tag keeps its last value.
	Loop bool `yaml:"loop,omitempty" json:"loop,omitempty"`
	// TimeScale plays the recording this many times faster than
	// simulated time passes (on top of the scenario's time_scale).
	// Default 1.
	TimeScale float64 `yaml:"time_scale,omitempty" json:"time_scale,omitempty"`
	// From starts the playback this far into the recording.
	From Duration `yaml:"from,omitempty" json:"from,omitempty"`
}

// Drives: a recording holds values of any type.
func (k *Replay) Drives(t DataType) bool { return true }

// Check needs a file, a source and an address; it wants time_scale and
// from >= 0. The twin opens the file when it starts, and refuses a
// recording that lacks the point or is corrupt.
func (k *Replay) Check(c *ModelCheck) {
	if k.File == "" {
		c.NeedKey("", "the recording to play: file: incident.otwrec", "replay needs file")
	}
	if k.Source == "" || k.Address == "" {
		c.NeedKey("", "the point of the recording: source and address", "replay needs source and address")
	}
	if k.TimeScale < 0 {
		c.Want("time_scale", "1 plays at the recorded pace", "time_scale must be > 0, got %v", k.TimeScale)
	}
	if k.From < 0 {
		c.Want("from", "", "from %s is negative", k.From)
	}
}
