package tui

import "sync"

// AdaptFeed turns any subscription into a Feed: a goroutine reads src,
// converts each value with conv and delivers it on C. Close stops the
// goroutine and then calls closeSrc (which should stop the source; it may
// be nil); C is closed when src is closed or after Close. dropped, when
// non-nil, makes the feed a DropCounter. The goroutine exits when src is
// closed or Close is called; it never blocks the source's producer beyond
// what src's own buffering allows.
func AdaptFeed[T any](src <-chan T, conv func(T) Update, closeSrc func(), dropped func() uint64) Feed {
	f := &adapted{out: make(chan Update, 1), stop: make(chan struct{}), done: make(chan struct{}), closeSrc: closeSrc, dropped: dropped}
	go func() {
		defer close(f.done)
		defer close(f.out)
		for {
			select {
			case <-f.stop:
				return
			case v, ok := <-src:
				if !ok {
					return
				}
				select {
				case f.out <- conv(v):
				case <-f.stop:
					return
				}
			}
		}
	}()
	if dropped != nil {
		return &adaptedCounting{f}
	}
	return f
}

type adapted struct {
	out      chan Update
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeSrc func()
	dropped  func() uint64
}

func (f *adapted) C() <-chan Update { return f.out }

func (f *adapted) Close() {
	f.once.Do(func() {
		close(f.stop)
		<-f.done
		if f.closeSrc != nil {
			f.closeSrc()
		}
	})
}

type adaptedCounting struct{ *adapted }

func (f *adaptedCounting) Dropped() uint64 { return f.dropped() }
