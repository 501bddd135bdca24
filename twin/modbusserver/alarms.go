package modbusserver

import (
	"fmt"

	"github.com/otwin/otwin/scenarios"
	"github.com/otwin/otwin/twin/alarms"
)

// Alarms as discrete inputs: an alarm with a Modbus mapping
// (scenarios.AlarmModbus) is one discrete input of its machine's unit,
// 1 while the alarm is active or latched (alarms.Set.Present). The bits
// are part of the discrete table's image: a read of a block that covers
// tags and alarms is one read, and a gap is refused as for tags. A read
// first brings the bits up to date when any alarm changed since
// (alarms.Set.Version), so a read that starts after a tick has returned
// sees the alarms of that tick.

// addAlarmSlots adds the discrete inputs of the alarms of u's machine.
func (u *unit) addAlarmSlots(set *alarms.Set) error {
	if set == nil {
		return nil
	}
	bit, err := newCodec(scenarios.Bool, &scenarios.Register{Table: "discrete"}, true)
	if err != nil {
		return err
	}
	for _, in := range set.Alarms() {
		if in.Machine != u.machine || in.Discrete < 0 {
			continue
		}
		if in.Discrete > 65535 {
			return fmt.Errorf("machine %q alarm %q: discrete input %d is outside 0-65535", u.machine, in.Name, in.Discrete)
		}
		u.tables[tDiscrete] = append(u.tables[tDiscrete], &slot{tag: -1, alarm: in.Index + 1, id: "alarm " + in.Name,
			start: in.Discrete, width: 1, bit: true, codec: bit})
	}
	return nil
}

// syncAlarms brings the alarms' bits of s's units up to date: one atomic
// load when no alarm changed.
func (s *Server) syncAlarms() {
	set := s.cfg.Alarms
	if set == nil || len(s.alarmSlots) == 0 {
		return
	}
	v := set.Version() + 1 // 0: never synced
	if s.alarmSeen.Load() == v {
		return
	}
	s.hub.mu.Lock()
	for _, sl := range s.alarmSlots {
		sl.img[0] = b2u8(set.Present(sl.alarm - 1))
	}
	s.alarmSeen.Store(v)
	s.hub.mu.Unlock()
}
