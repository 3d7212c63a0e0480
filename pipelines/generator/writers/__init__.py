"""One writer per source profile (`lesson_marks_csv`, `daily_summary_jsonl`,
`weekly_totals_xlsx`), what they share (`_common`) and `drop.write_drop`, which writes a
simulation as one drop folder with its manifest last."""
