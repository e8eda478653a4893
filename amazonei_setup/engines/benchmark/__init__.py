"""The benchmark's results (issue 22): per-candidate measurements turned into priced, ranked
rows, a recommendation, the JSON document and the report files. Pure functions apart from
`report.write_report`; the command and its orchestration live elsewhere."""
