"""Running a draft: the section DAG, repair, the LLM judge, incremental reuse."""
