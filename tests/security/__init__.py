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
| an upload that takes the server down (one CSV line of 500,000 commas; wide or huge tables; slow parses) | test_uploads_hostile::test_a_line_of_500000_commas_is_refused_in_2_s_and_the_server_memory_stays_flat, ::test_text_files_are_bounded_before_parsing, ::test_parquet_columns_are_checked_from_the_footer_before_decoding, ::test_a_parse_that_blows_the_memory_cap_gives_a_sentence_and_the_server_survives, ::test_a_slow_parse_hits_the_time_cap; bench/upload_dos.py |
| misread CSVs (European Excel: BOM, ``;``, decimal comma; rows with another field count) | test_uploads_hostile::test_a_european_excel_csv_is_read_with_its_dialect, ::test_rows_with_another_field_count_are_refused_with_the_line, ::test_ambiguous_csv_is_refused_with_a_sentence |
| values beyond float32 reported as NaN/inf | test_uploads_hostile::test_values_beyond_float32_range_are_named_with_column_and_row |
| acting as someone else (team password + a typed name), admin by name, quota reset by a new name, password guessing | test_identity (per-user scrypt passwords, admin tied to the identity, team password = one non-admin owner, throttle per name and per client, logged) |
| reading or training on another user's upload (``?cfg=upload:<id>``, the embeddings CSV) | test_upload_privacy |
| one owner's queue starving another's; the shown position | tests/runs/test_fair_queue.py::test_one_slot_three_runs_of_a_then_one_of_b, ::test_simulated_queue_starts_in_the_predicted_order |
| concurrent submissions past the per-user queue limit | tests/runs/test_fair_queue.py::test_queue_limit_holds_under_concurrent_submissions |
| memory blown by sizes other than epochs/samples (block sizes, hidden_dim, batch, snapshots, bound steps/seeds, strings for numbers) | tests/runs/test_budget.py (estimate at submit, refusal naming the parameter and a value that fits; every out-of-memory form a sentence) |
| full disk in a worker, full database at submit | tests/runs/test_budget.py::test_worker_on_a_full_disk_says_so_and_removes_its_temporary_files, ::test_a_full_database_at_submit_is_a_sentence |
| recovery and the queue waiting for the first page load | tests/runs/test_startup.py::test_launcher_recovers_and_starts_the_queue_without_any_page_load |
| CSV injection in exports (run names as ``=HYPERLINK(...)``) | test_exports_and_links::test_formula_cells_are_neutralised_and_numbers_are_not, ::test_history_csv_written_by_the_core_is_neutralised, ::test_the_runs_table_and_its_downloads_offer_no_formula |
| ``?cfg=`` sections that are not objects; values the controls cannot hold | test_exports_and_links::test_pages_answer_a_malformed_link_with_a_sentence, ::test_a_link_value_the_train_controls_cannot_hold_is_changed_with_a_note, ::test_a_link_value_the_data_controls_cannot_hold_is_changed_with_a_note |
| health endpoint for the proxy / orchestrator | test_server::test_health_answers_and_hands_out_the_xsrf_cookie |
"""
