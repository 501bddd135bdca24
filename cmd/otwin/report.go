package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Machine-readable reports of validate and verify: JUnit XML for CI test
// report viewers, GitHub Actions workflow commands for annotations on the
// changed file.

// junitSuites is the root of a JUnit XML report, in the shape CI servers
// read (the Jenkins/Ant JUnit schema): testsuites > testsuite > testcase,
// a failure element on each failed case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

// junitSuite is one suite: a file.
type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

// junitCase is one check: a problem, a point. At most one of Skipped,
// Error and Failure is set.
type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Error     *junitFailure `xml:"error,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitSkipped marks a case that did not run, and says why.
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitFailure says why a case failed: Message in one line, Type the kind
// of failure, the text the details (file:line:col first).
type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// add appends a suite, keeping the totals.
func (j *junitSuites) add(s junitSuite) {
	s.Tests = len(s.Cases)
	s.Failures, s.Errors, s.Skipped = 0, 0, 0
	for _, c := range s.Cases {
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	if s.Time == "" {
		s.Time = "0"
	}
	j.Suites = append(j.Suites, s)
	j.Tests += s.Tests
	j.Failures += s.Failures
	j.Errors += s.Errors
	if j.Time == "" {
		j.Time = "0"
	}
}

// write writes j as an XML document.
func (j *junitSuites) write(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(j); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// githubAnnotation is a GitHub Actions workflow command that annotates
// file at line:col with msg: "::error file=F,line=L,col=C::msg". level is
// error, warning or notice; line and col are left out when 0.
func githubAnnotation(level, file string, line, col int, title, msg string) string {
	props := "file=" + ghProperty(file)
	if line > 0 {
		props += fmt.Sprintf(",line=%d", line)
		if col > 0 {
			props += fmt.Sprintf(",col=%d", col)
		}
	}
	if title != "" {
		props += ",title=" + ghProperty(title)
	}
	return fmt.Sprintf("::%s %s::%s", level, props, ghData(msg))
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
