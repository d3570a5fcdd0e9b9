"""Security suite: one place to see each threat to a shared server and the test that covers it.

Run it alone with ``.venv/bin/python -m pytest tests/security -q`` (CI runs it with everything else; it takes
well under 90 s). Related detail lives beside the code it tests and is named here.

| threat | test |
|---|---|
| upload file names with a path (``../../x.csv``, ``C:\\x``, NUL, dot files) | test_inputs::test_upload_file_names_never_become_paths (every refused form: tests/core/test_uploads.py::test_safe_names, BAD "path traversal") |
| dataset ids naming a path (``upload:../..``, a folder from a ``?cfg=`` link) | test_inputs::test_dataset_ids_cannot_name_a_path, ::test_a_run_whose_dataset_is_a_path_fails_with_a_sentence |
| run ids / ``?run=`` / ``?sweep=`` / ``?cfg=`` with path or SQL characters | test_inputs::test_run_ids_are_checked_before_any_path_or_query, ::test_hostile_query_values_show_nothing_and_break_nothing |
| SQL in stored strings (run names, owners) | test_inputs::test_run_ids_are_checked_before_any_path_or_query (every query is parameterised: omib_core/runs/store.py) |
| pickles and object arrays in uploads (code run on load) | test_inputs::test_pickles_and_object_arrays_are_refused_unopened (a live payload that would create a file) |
| oversize uploads | test_inputs::test_oversize_upload_is_refused_before_it_is_decoded; HTTP layer: test_server::test_uploads_without_the_xsrf_token_are_refused ("oversize": 413); zip bombs: tests/core/test_uploads.py |
| HTML / JS / markdown in run names, owners, upload names, dataset ids, error sentences | test_rendering (all); no raw HTML anywhere: test_rendering::test_the_app_never_allows_raw_html; Plotly legends: test_rendering::test_run_names_in_the_compare_chart_legend_are_literal_text |
| a dataset the server will not read, queued anyway | tests/runs/test_runs_jobs.py::test_unknown_or_unreadable_datasets_are_refused_at_submit |
| cross-site request forgery on the upload endpoint | test_server::test_uploads_without_the_xsrf_token_are_refused (403 without the ``_streamlit_xsrf`` cookie and header) |
| tracebacks / internals shown to users | test_server::test_shared_server_settings_in_config_toml, ::test_refused_requests_leave_no_traceback_in_the_server_log; run errors are sentences: tests/runs/test_runs_worker.py::test_unexpected_exception_gives_a_sentence_and_logs_the_traceback |
| another user's pause / step / resume / stop / delete | test_permissions (launcher, Train, Runs and Sweep pages, forged clicks on disabled buttons) |
| resource exhaustion: epochs, samples, queue length, threads, wall time, memory, GPU | tests/runs/test_runs_limits.py, tests/runs/test_runs_jobs.py::test_server_limits_from_environment |
| a crashed or killed worker or server losing acknowledged data | tests/runs/test_runs_worker.py::test_kill_minus_9_then_mark_interrupted, ::test_worker_exits_when_its_parent_dies; bench/faults.py (10 + 10 kills) |
| health endpoint for the proxy / orchestrator | test_server::test_health_answers_and_hands_out_the_xsrf_cookie |
"""
