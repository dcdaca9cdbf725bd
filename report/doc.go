// Package report renders one correlated result (correlate.Result) for
// people and programs: the terminal (lipgloss, width-aware, colours from
// styles.go), a Markdown incident report, and the JSON report contract
// version 1 (json.go). Renderers only lay out what correlate computed;
// they do not analyse. This package never imports the AWS SDK.
package report
