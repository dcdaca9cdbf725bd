package flowlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// Input is one input of [Convert].
type Input struct {
	// Name is the file name, used in messages; "-" is standard input.
	Name string
	// Reader is the input's content. If nil, Convert opens Name (standard
	// input for "-") and closes it when done.
	Reader io.Reader
}

// displayName is how messages name an input.
func (in Input) displayName() string {
	switch in.Name {
	case "-":
		return "<stdin>"
	case "":
		return "<input>"
	}
	return in.Name
}

// Convert is the body of "vpnaudit flows": it reads flow-log records from each
// input in turn (plain or gzip, see [Reader]) and writes each record to out as
// one line of JSON (see [Record.AppendJSON]). Without inputs it reads standard
// input.
//
// Each input starts with format (nil means DefaultFormat) until a header line
// in it names another. For every malformed line it writes "NAME:LINE: reason"
// to errOut (nil discards them); Stats.Malformed counts them, and whether that
// makes the command fail is the caller's decision.
//
// An input that cannot be opened or read is an error, and Convert goes on with
// the next input; the returned error joins all of them. An error writing to
// out stops Convert at once.
func Convert(inputs []Input, format *Format, out, errOut io.Writer) (Stats, error) {
	if len(inputs) == 0 {
		inputs = []Input{{Name: "-"}}
	}
	if errOut == nil {
		errOut = io.Discard
	}
	var f Format
	if format != nil {
		f = *format
	}
	w := bufio.NewWriterSize(out, 64<<10)
	ew := bufio.NewWriter(errOut)
	var (
		total Stats
		errs  []error
		buf   []byte
	)
	for _, in := range inputs {
		st, readErr, writeErr := convertOne(in, f, w, ew, &buf)
		total.Add(st)
		if writeErr != nil {
			ew.Flush()
			return total, writeErr
		}
		if readErr != nil {
			errs = append(errs, readErr)
		}
	}
	if err := w.Flush(); err != nil {
		return total, fmt.Errorf("writing output: %w", err)
	}
	if err := ew.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("writing malformed-line report: %w", err))
	}
	return total, errors.Join(errs...)
}

// convertOne converts one input, reusing *buf for the JSON of each record.
func convertOne(in Input, f Format, w, ew *bufio.Writer, buf *[]byte) (st Stats, readErr, writeErr error) {
	name := in.displayName()
	src := in.Reader
	if src == nil {
		if in.Name == "-" {
			src = os.Stdin
		} else {
			file, err := os.Open(in.Name)
			if err != nil {
				return st, err, nil // *PathError names the file
			}
			defer file.Close()
			src = file
		}
	}
	r := NewReader(src, ReaderOptions{
		Format: f,
		OnMalformed: func(e LineError) {
			fmt.Fprintf(ew, "%s:%d: %v\n", name, e.Line, e.Err)
		},
	})
	b := *buf
	for r.Next() {
		b = r.Record().AppendJSON(b[:0])
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			*buf = b
			st = r.Stats()
			st.Inputs = 1
			return st, nil, fmt.Errorf("writing output: %w", err)
		}
	}
	*buf = b
	st = r.Stats()
	st.Inputs = 1
	if err := r.Err(); err != nil {
		return st, fmt.Errorf("%s: %w", name, err), nil
	}
	return st, nil, nil
}
