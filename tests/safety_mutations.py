"""Re-check tests/SAFETY_AUDIT.md: each mutation disables one piece of issue 9's (and issue 16's)
handling, and the tests that cover it must then FAIL.

    .venv/bin/python tests/safety_mutations.py          # every mutation (about 10 min on 2 cores)
    .venv/bin/python tests/safety_mutations.py 6 27     # some, by number
    .venv/bin/python tests/safety_mutations.py --list   # the table, without running anything
    .venv/bin/python tests/safety_mutations.py --check  # every snippet and test id still there?

The working tree is never touched: the repository is copied into a temporary folder, one file of
the copy is changed at a time, and pytest runs there (PYTHONPATH points at the copy; each run is
limited to 16 GiB of address space, so a lost decompression-bomb check cannot eat the machine).
Not collected by pytest (no ``test_`` prefix). A snippet that is no longer in the source is
reported as STALE: update the mutation together with the code it mutates.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE = 16 << 30
PYTEST_OPTIONS = ("-x", "-q", "--tb=line", "-p", "no:cacheprovider")


class Mutation(NamedTuple):
    item: str  # the item
    what: str  # the handling that is disabled
    file: str
    edits: list[tuple[str, str]]  # (exact snippet, replacement), each snippet found exactly once
    tests: list[str]  # pytest node ids; at least one must fail


IM, TR = "nst_helpers/images.py", "nst_helpers/transfer.py"
EN, STY = "nst_helpers/engine.py", "nst_helpers/extensions/styles.py"
C2F = "nst_helpers/extensions/coarse_to_fine.py"
DL, W = "nst_helpers/download.py", "nst_helpers/weights.py"
TI, TT, TD, TW, TS = (
    "tests/test_images.py::",
    "tests/test_transfer.py::",
    "tests/test_download.py::",
    "tests/test_weights.py::",
    "tests/test_safety.py::",
)
BAD_PARAMS = TT + "test_bad_parameters_are_refused_before_any_work"
CLI, ER, RU, CO = (
    "nst_helpers/cli.py",
    "nst_helpers/errors.py",
    "nst_helpers/runs.py",
    "nst_helpers/extensions/colour.py",
)
TC, TE, TX = "tests/test_cli.py::", "tests/test_errors.py::", "tests/extensions/test_colour.py::"
EARLY = TC + "test_every_output_is_checked_before_weights_or_any_evaluation"
ONE_LINE = TC + "test_every_failure_of_the_command_line_is_one_line_and_exit_2"
OUTPUTS = TI + "test_outputs_are_checked_by_one_function_for_images_gifs_and_runs"
KEEPS = TC + "test_a_save_that_fails_at_the_end_keeps_the_result_and_says_where"
OOM = TC + "test_out_of_memory_is_one_line_with_the_size_and_keeps_what_was_done"
STOPS = TC + "test_after_a_stop_it_says_why_which_image_was_kept_and_what_next"
DOMAIN = TI + "test_float_tensors_outside_0_1_are_refused_on_every_path_and_uint8_is_divided"
KINDS = TW + "test_a_file_of_the_wrong_kind_says_what_it_is_and_how_to_get_the_right_one"
OPTIONS = "tests/test_options.py::test_bad_option_values_are_refused_before_any_work"
M = Mutation
# fmt: off
MUTATIONS: list[Mutation] = [
    # ----------------------------------------------------------------------------- images
    M("empty file", "no 0-byte check (file)", IM,
      [('    if path.stat().st_size == 0:\n        raise ImageError(f"{path}: the file is empty '
        '(0 bytes)")\n', "")], [TI + "test_empty_file"]),
    M("empty file", "no 0-byte check (bytes)", IM,
      [('        if not data:\n            raise ImageError("<bytes>: empty (0 bytes)")\n', "")],
      [TI + "test_empty_file"]),
    M("non-image bytes", "UnidentifiedImageError not turned into 'not an image'", IM,
      [('    except Image.UnidentifiedImageError:\n        raise ImageError(f"{name}: not an image '
        'Pillow can read{_what_it_is(fp)}") from None\n', "")], [TI + "test_text_is_not_an_image"]),
    M("truncated JPEG/PNG", "LOAD_TRUNCATED_IMAGES = True", IM,
      [("from PIL import ExifTags, Image, ImageOps\n",
        "from PIL import ExifTags, Image, ImageFile, ImageOps\n"
        "ImageFile.LOAD_TRUNCATED_IMAGES = True\n")],
      [TI + "test_truncated_files"]),
    M("truncated JPEG", "decode errors not caught", IM,
      [("    except _DECODE_ERRORS as exc:\n        raise ImageError(f\"{name}: the image is "
        "truncated", "    except ZeroDivisionError as exc:\n        raise ImageError(f\"{name}: "
        "the image is truncated")], [TI + "test_truncated_files[JPEG]"]),
    M("truncated PNG", "decode errors not caught", IM,
      [("    except _DECODE_ERRORS as exc:\n        raise ImageError(f\"{name}: the image is "
        "truncated", "    except ZeroDivisionError as exc:\n        raise ImageError(f\"{name}: "
        "the image is truncated")], [TI + "test_truncated_files[PNG]"]),
    M("missing path", "no exists() check", IM,
      [('    if not path.exists():\n        raise ImageError(f"{path}: no such file")\n', "")],
      [TI + "test_missing_file"]),
    M("directory", "no is_dir() check", IM,
      [('    if path.is_dir():\n        raise ImageError(f"{path}: is a directory, not an image '
        'file")\n', "")], [TI + "test_directory"]),
    M("decompression bomb", "no MAX_PIXELS header check", IM,
      [("    if width * height > MAX_PIXELS:\n", "    if False:\n")],
      [TI + "test_huge_header_is_refused_before_decoding"]),
    M("too small for the deepest layer", "no check_min_size on the content image", TR,
      [('        check_min_size(content_img, min_side, "content image")\n',
        "        pass\n")],
      [TT + "test_images_too_small_for_the_deepest_layer_say_the_minimum"]),
    M("grayscale", "L images not converted to RGB", IM,
      [('        img = img.convert("RGBA" if has_alpha else "RGB")\n',
        '        img = img if img.mode == "L" else img.convert("RGBA" if has_alpha else "RGB")\n')],
      [TI + "test_grayscale_becomes_three_equal_channels"]),
    M("16-bit", "16-bit goes through Pillow's 8-bit conversion", IM,
      [("    if img.mode in _HIGH_DEPTH_MODES:\n", "    if False:\n")],
      [TI + "test_16_bit_png_is_scaled_not_clipped"]),
    M("palette (transparent)", "tRNS transparency ignored", IM,
      [('has_alpha = img.mode in _ALPHA_MODES or "transparency" in img.info',
        "has_alpha = img.mode in _ALPHA_MODES")],
      [TI + "test_palette_with_transparency_is_composited_on_white"]),
    M("RGBA on white", "composited on black", IM,
      [("    return rgba[..., :3] * alpha + (1.0 - alpha)\n",
        "    return rgba[..., :3] * alpha\n")],
      [TI + "test_rgba_is_composited_on_white"]),
    M("CMYK", "CMYK's first three channels taken as RGB", IM,
      [("    if img.mode in _HIGH_DEPTH_MODES:\n",
        '    if img.mode == "CMYK":\n'
        "        return np.asarray(img, dtype=np.float32)[..., :3] / 255\n"
        "    if img.mode in _HIGH_DEPTH_MODES:\n")],
      [TI + "test_cmyk_jpeg"]),
    M("EXIF rotation", "no exif_transpose", IM,
      [("        img = ImageOps.exif_transpose(img)\n", "")],
      [TI + "test_exif_orientation_is_applied"]),
    M("animated GIF", "last frame instead of the first", IM,
      [("        img.load()  # force", '        img.seek(getattr(img, "n_frames", 1) - 1)\n'
        "        img.load()  # force")], [TI + "test_animated_gif_first_frame"]),
    M("very large photo", "no JPEG draft (full-size decode)", IM,
      [("            img.draft(img.mode, raw_wh)\n", "            pass\n")],
      [TI + "test_large_jpeg_is_drafted_then_resized"]),
    M("upload widget", "upload errors not caught", "nst_helpers/lessons/widgets.py",
      [("        try:\n            load_image(data, size=16)", "        if True:\n"
        "            load_image(data, size=16)"),
       ("        except ImageError as exc:\n            # what the file is",
        "        if False:\n            # what the file is")],
      [TS + "test_a_bad_upload_shows_its_error_and_keeps_the_choice"]),
    # ----------------------------------------------------------------------------- parameters
    M("unknown layer names", "no check", "nst_helpers/layers.py",
      [("    if unknown:\n", "    if False:\n")],
      [BAD_PARAMS, "tests/test_cli.py::test_bad_input_gives_one_line_not_a_traceback"]),
    M("empty layer sets", "no 'both empty' check", TR,
      [("    if not c_layers and not s_layers:\n", "    if False:\n")],
      [BAD_PARAMS]),
    M("empty layer sets", "style image but no style layer: internal error", STY,
      [("    if not targets:  # no style image, or no style layer\n        return {}\n", "")],
      [TT + "test_a_style_image_without_style_layers_is_a_content_only_run",
       TS + "test_the_dashboard_controls_only_give_values_the_engine_accepts"]),
    M("negative α/β", "negative accepted", EN,
      [("    if not math.isfinite(v) or v < 0 or (positive and v == 0):",
        "    if not math.isfinite(v) or (positive and v == 0):")], [BAD_PARAMS, OPTIONS]),
    M("non-finite α/β", "NaN/inf accepted", EN,
      [("    if not math.isfinite(v) or v < 0 or (positive and v == 0):",
        "    if v < 0 or (positive and v == 0):")], [BAD_PARAMS, OPTIONS]),
    M("negative/non-finite layer weights", "no check", "nst_helpers/losses.py",
      [('    bad = {k: v for k, v in resolved.items() if not (v >= 0.0 and v < float("inf"))}',
        "    bad = {}")],
      [BAD_PARAMS, "tests/test_losses.py::test_style_loss_refuses_bad_weights"]),
    M("steps ≤ 0", "steps = 0 accepted", EN,
      [("isinstance(steps, numbers.Integral) or steps < 1:",
        "isinstance(steps, numbers.Integral) or steps < 0:")],
      [BAD_PARAMS]),
    M("sizes out of range", "StyleTransfer does not check size", TR,
      [('    check_size(o["size"], "long")', "    pass")],
      [TT + "test_texture_synthesis_sizes_are_checked_before_any_work", BAD_PARAMS]),
    M("sizes out of range", "no MAX_PIXELS bound", IM,
      [("    if height * width > MAX_PIXELS:\n        raise ParameterError(",
        "    if False:\n        raise ParameterError(")],
      [TI + "test_sizes_beyond_max_pixels_are_refused_before_any_work",
       TI + "test_a_short_side_that_makes_the_long_side_huge_is_refused"]),
    M("sizes out of range", "size ≤ 0 accepted", IM,
      [("    if _is_int(size) and size > 0:\n", "    if _is_int(size):\n")],
      [TI + "test_bad_size"]),
    M("NaN/inf input tensors", "no isfinite check (images.as_image_tensor)", IM,
      [('    if not torch.isfinite(t).all():\n        raise ImageTensorError(f"{what}: the image '
        'tensor contains NaN', '    if False:\n        raise ImageTensorError(f"{what}: the image '
        'tensor contains NaN')],
      [TT + "test_non_finite_or_misshapen_images_are_refused"]),
    M("widgets constrain ranges", "evaluations box allows 0", "nst_helpers/lessons/dashboard.py",
      [("value=steps, min=1, max=100_000", "value=steps, min=0, max=100_000")],
      [TS + "test_the_dashboard_controls_only_give_values_the_engine_accepts"]),
    M("widgets constrain ranges", "image size box allows 8 px", "nst_helpers/lessons/dashboard.py",
      [("value=size, min=32, max=2048", "value=size, min=8, max=2048")],
      [TS + "test_the_dashboard_controls_only_give_values_the_engine_accepts"]),
    M("widgets constrain ranges", "layer weight slider allows -1", "nst_helpers/lessons/widgets.py",
      [("                min=0.0,\n                max=1.0,", "                min=-1.0,\n"
        "                max=1.0,")], [TS + "test_widgets_constrain_their_values"]),
    # ----------------------------------------------------------------------------- optimisation
    M("NaN/inf during optimisation", "non-finite loss not detected", EN,
      [("        if not ev.finite:\n", "        if False:\n")],
      [TT + "test_a_non_finite_loss_stops_and_keeps_the_last_finite_image"]),
    M("NaN/inf during optimisation", "last finite image not restored", EN,
      [("                self.x.copy_(self._best_image)\n", "                pass\n")],
      [TT + "test_a_non_finite_loss_stops_and_keeps_the_last_finite_image"]),
    M("Stop event", "stop event ignored", EN,
      [("                if self.stop_event is not None and self.stop_event.is_set():\n",
        "                if False:\n")],
      [TT + "test_the_stop_event_ends_the_run_with_a_valid_result"]),
    M("KeyboardInterrupt", "not caught", EN,
      [("        except KeyboardInterrupt:\n", "        except ZeroDivisionError:\n")],
      [TT + "test_keyboard_interrupt_leaves_a_valid_result"]),
    M("save never overwrites", "save_image overwrites", IM,
      [("    if path.exists() and not overwrite:\n", "    if False:\n")],
      [TI + "test_save_refuses_to_overwrite"]),
    M("save never overwrites", "dashboard saves over the file", "nst_helpers/lessons/dashboard.py",
      [("        if not overwrite:\n            target = unique_path(target)\n", "")],
      ["tests/lessons/test_dashboard.py::test_saving_never_overwrites_unless_asked"]),
    M("save never overwrites", "save_run overwrites", "nst_helpers/runs.py",
      [("    if (folder / RUN_FILE).exists() and not overwrite:\n", "    if False:\n")],
      [TT + "test_save_and_load_a_run"]),
    M("save never overwrites", "stylize has no early check", CLI,
      [("    _check_outputs(args)  # before any image, weights or evaluation\n", "")],
      [TC + "test_stylize_never_overwrites_without_being_asked"]),
    M("atomic writes", "save_run writes run.json directly", "nst_helpers/runs.py",
      [('    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".json", dir=folder)\n',
        "    tmp = folder / RUN_FILE\n"
        "    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n")],
      [TT + "test_an_interrupted_save_run_leaves_no_half_written_run_json"]),
    M("atomic writes", "save_image writes the target directly", IM,
      [('    out, tmp = create_temp_beside(path, suffix=".tmp")\n',
        '    out, tmp = open(path, "wb"), path\n')], [TI + "test_save_is_atomic"]),
    # ----------------------------------------------------------------------------- weights
    M("weights_only=True", "weights_only=False", W,
      [("weights_only=True, mmap=True", "weights_only=False, mmap=True")],
      [TW + "test_a_pickle_that_would_run_code_is_refused",
       TS + "test_every_torch_load_uses_weights_only"]),
    M("weights_only=True", "weights_only left to torch's default", W,
      [("weights_only=True, mmap=True", "mmap=True")],
      [TW + "test_a_pickle_that_would_run_code_is_refused",
       TS + "test_every_torch_load_uses_weights_only"]),
    M("truncated weights", "torch.load errors not caught", W,
      [("    except Exception as exc:\n        text = str(exc)\n",
        "    except ZeroDivisionError as exc:\n        text = str(exc)\n")],
      [TW + "test_a_truncated_file_is_refused_with_how_to_refetch",
       TW + "test_could_run_code_is_said_only_of_pickles_holding_other_objects"]),
    M("wrong-sized weights, never half-used", "missing/wrong tensors not refused", W,
      [("    problems = shape_problems(state, expected_shapes())\n", '    problems = ""\n')],
      [TW + "test_wrong_or_missing_tensors_are_refused_naming_the_file_and_the_fix"]),
    M("hash-mismatched weights (cache)", "recorded SHA-256 not compared", W,
      [("        if recorded != actual:\n", "        if False:\n")],
      [TW + "test_a_damaged_cache_is_refused_not_half_used"]),
    M("hash-mismatched weights (download)", "no hash_prefix on the download", W,
      [("weights_url(), dest, hash_prefix=HASH_PREFIX, progress=progress",
        "weights_url(), dest, progress=progress")],
      [TW + "test_a_download_with_the_wrong_hash_is_refused_and_nothing_is_kept"]),
    # ----------------------------------------------------------------------------- downloads
    M("temp + rename after checksum", "renamed before the checks", DL,
      [("        _check_received(digest, received, (total, expected_size), sha256, hash_prefix)\n"
        "        os.replace(tmp, dest)\n", "        os.replace(tmp, dest)\n"
        "        _check_received(digest, received, (total, expected_size), sha256, "
        "hash_prefix)\n")],
      [TD + "test_sha256_mismatch_leaves_nothing", TD + "test_hash_prefix_convention"]),
    M("temp + rename after checksum", "written straight to the destination", DL,
      [("        out, tmp = create_temp_beside(dest)\n",
        '        out, tmp = open(dest, "wb"), dest\n')],
      [TD + "test_killed_process_leaves_no_final_file"]),
    M("interrupted download leaves nothing", "no clean-up on a dropped connection", DL,
      [("    except DownloadError as exc:\n        _remove(tmp)\n",
        "    except DownloadError as exc:\n")],
      [TD + "test_connection_dropped_halfway_is_detected"]),
    M("interrupted download leaves nothing", "no clean-up on a network error", DL,
      [("    except Exception as exc:  # network, disk or protocol error: report it as a "
        "DownloadError\n        _remove(tmp)\n", "    except Exception as exc:  # network, disk "
        "or protocol error: report it as a DownloadError\n")],
      [TD + "test_http_error", TD + "test_stalled_server_times_out"]),
    M("interrupted download leaves nothing", "no clean-up on Ctrl-C", DL,
      [("    except BaseException:  # KeyboardInterrupt, SystemExit: clean up, then let it "
        "through\n        _remove(tmp)\n", "    except BaseException:  # KeyboardInterrupt, "
        "SystemExit: clean up, then let it through\n")],
      [TD + "test_keyboard_interrupt_cleans_up"]),
    M("interrupted download leaves nothing", "a killed download's file never removed", DL,
      [("        _remove_abandoned(dest)\n", "")],
      [TD + "test_killed_process_leaves_no_final_file"]),
    M("interrupted download leaves nothing", "a running download holds no lock", DL,
      [("                fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)\n",
        "                pass\n")],
      [TD + "test_killed_process_leaves_no_final_file"]),
    M("interrupted download leaves nothing", "clean-up ignores the lock", DL,
      [("            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError", "            pass  "
        "# OSError")], [TD + "test_a_running_download_keeps_its_temporary_file"]),
    M("concurrent downloads", "one shared temporary file", DL,
      [('f".{dest.name}.{secrets.token_hex(6)}{suffix}"', 'f".{dest.name}.shared{suffix}"'),
       ('            return open(tmp, "xb"), tmp', '            return open(tmp, "wb"), tmp')],
      [TD + "test_concurrent_threads_same_dest", TD + "test_concurrent_processes_same_dest"]),
    M("no network unless asked", "weights_status probes the URL (errors swallowed)", W,
      [('    """What the loader would find, without touching the network (for the setup-check '
        'notebook)."""\n', '    """What the loader would find."""\n    try:\n        __import__('
        '"urllib.request").request.urlopen(weights_url(), timeout=1)\n    except Exception:\n'
        "        pass\n")],
      [TS + "test_a_whole_offline_run_never_touches_the_network"]),
    M("fails fast without network", "retries with a back-off", DL,
      [("        _remove(tmp)\n        raise fail(_describe(exc, timeout)) from exc\n",
        "        _remove(tmp)\n        time.sleep(11)\n"
        "        raise fail(_describe(exc, timeout)) from exc\n")],
      [TD + "test_connection_refused_fails_fast",
       TW + "test_without_weights_and_network_the_loader_fails_fast_with_the_ways_out"]),
    # ----------------------------------------------------------------------------- issue 16
    # 1. outputs checked before any work; a failing final write keeps the result
    M("16.1 outputs before the run", "check_output_path skips the folder check", IM,
      [("    check_writable_folder(path.parent, what)\n    return path\n", "    return path\n")],
      [EARLY + "[parent is a file]", EARLY + "[unwritable]", OUTPUTS + "[unwritable]"]),
    M("16.1 outputs before the run", "a file on the way is not named", "nst_helpers/paths.py",
      [("    if not existing.is_dir():\n", "    if False:\n")],
      [EARLY + "[parent is a file]"]),
    M("16.1 outputs before the run", "the snapshot folder is not checked by the CLI", CLI,
      [("    if args.snapshots is not None:\n        check_run_dir(", "    if False:\n"
        "        check_run_dir(")],
      [EARLY + "[run exists]", EARLY + "[run is a file]"]),
    M("16.1 outputs before the run", "the CLI names overwrite=True, not --overwrite", CLI,
      [('check_run_dir(args.snapshots, overwrite=args.overwrite, flag="--overwrite")',
        "check_run_dir(args.snapshots, overwrite=args.overwrite)")], [EARLY + "[run exists]"]),
    M("16.1 outputs before the run", "export_gif does not use check_output_path",
      "nst_helpers/lessons/convergence.py",
      [('    path = check_output_path(path, overwrite=overwrite, suffixes=(".gif",), what="the '
        'GIF")\n', "    path = Path(path).expanduser()\n")],
      [OUTPUTS + "[suffix]", OUTPUTS + "[parent is a file]"]),
    M("16.1 a failed save keeps the result", "save_or_keep loses the image", IM,
      [("    return keep_elsewhere(path, lambda place: save_image(tensor, place)), error\n",
        "    raise error\n")], [KEEPS]),
    M("16.1 a failed save keeps the result", "save_run_or_keep loses the run", RU,
      [("    return keep_elsewhere(Path(folder), lambda place: save_run(result, place)), error\n",
        "    raise error\n")], [KEEPS]),
    # 2. a file of the wrong kind says what it is
    M("16.2 wrong kind of file", "weights files not sniffed", W,
      [("    kind = check_weights_file(path, advice)\n", "    kind = sniff(path)\n")], [KINDS]),
    M("16.2 wrong kind of file", "'could run code' for every unpickling failure", W,
      [('        elif kind.category == "pickle":\n', '        elif "Unpickl" in type(exc).__name__:'
        '\n            cause = "it holds objects other than tensors, and loading it could run '
        'code"\n        elif kind.category == "pickle":\n')],
      [TW + "test_could_run_code_is_said_only_of_pickles_holding_other_objects"]),
    M("16.2 wrong kind of file", "a non-image is not named", IM,
      [("Pillow can read{_what_it_is(fp)}", "Pillow can read")],
      [TI + "test_a_file_that_is_not_an_image_says_what_it_is",
       TI + "test_weights_given_as_an_image_are_named"]),
    # 3. out of memory
    M("16.3 out of memory", "the CPU allocator's error not recognised", ER,
      [("    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _OOM_MARKERS)",
        "    return False")],
      [TE + "test_the_cpu_allocators_error_becomes_one_line_with_the_size_and_what_to_try", OOM]),
    M("16.3 out of memory", "the CLI does not translate it", CLI,
      [("    with translate_oom(size=args.scales or size, device=args.device, cli=True):",
        "    if True:")], [OOM]),
    M("16.3 out of memory", "the failed run's tensors kept alive", ER,
      [("        if tb is not None:\n            traceback.clear_frames(tb)  # type: ignore[arg-"
        "type]  # drop the failed run's tensors\n        exc.__traceback__ = None\n", "")],
      [TE + "test_the_failed_runs_tensors_are_released_so_the_process_stays_usable"]),
    M("16.3 out of memory", "a run that ran out is not worded for the CLI's flags", CLI,
      [('    if reason == "out-of-memory":', '    if False:')], [OOM]),
    # 4. image tensors outside the documented domain
    M("16.4 tensors outside [0, 1]", "no range check", IM,
      [("    if low < -DOMAIN_TOLERANCE or high > 1.0 + DOMAIN_TOLERANCE:\n", "    if False:\n")],
      [DOMAIN + "[False]", DOMAIN + "[True]"]),
    M("16.4 tensors outside [0, 1]", "uint8 not divided by 255", IM,
      [("        t = t.to(torch.float32) / 255.0\n", "        t = t.to(torch.float32)\n")],
      [DOMAIN + "[False]"]),
    M("16.4 tensors outside [0, 1]", "the engine skips the check without size=", IM,
      [("        return as_image_tensor(source, what, size)  # the one check",
        "        return source.detach().float() if size is None else as_image_tensor(source, "
        "what, size)  # the one check")], [DOMAIN + "[False]"]),
    # 5. every failure of the command line: one line, exit 2
    M("16.5 CLI: one line, exit 2", "OSError not caught", CLI,
      [("    except (NSTError, OSError) as exc:", "    except NSTError as exc:")],
      [ONE_LINE + "[disk error]"]),
    M("16.5 CLI: one line, exit 2", "Ctrl-C outside a run not caught", CLI,
      [("    except KeyboardInterrupt:  # outside a run",
        "    except ZeroDivisionError:  # outside a run")],
      [ONE_LINE + "[ctrl-c while loading]"]),
    M("16.5 CLI: one line, exit 2", "GPU driver failures taken for bugs", CLI,
      [("        if not _is_device_failure(exc):\n", "        if True:\n")],
      [ONE_LINE + "[gpu driver]"]),
    # 6. messages tell the truth after a stop
    M("16.6 the truth after a stop", "a stop exits 0 like a completed run", CLI,
      [("    return 2\n\n\ndef _stylize", "    return 0\n\n\ndef _stylize")], [STOPS]),
    M("16.6 the truth after a stop", "the initial image written as a result", CLI,
      [("    if result.evaluations == 0:  # nothing was evaluated", "    if False:  # nothing")],
      [STOPS]),
    # 7. ill-conditioned colour transforms regularised
    M("16.7 colour speckle", "no floor on the style's colour spread", CO,
      [("    if max_gain is not None:  # the style's spread",
        "    if False:  # the style's spread")],
      [TX + "test_histogram_matching_does_not_turn_invisible_colour_noise_into_speckle"]),
    M("16.7 colour speckle", "match_luminance stretches without bound", CO,
      [("    if max_gain is not None:\n        sigma_s = torch.maximum",
        "    if False:\n        sigma_s = torch.maximum")],
      [TX + "test_luminance_matching_stretches_a_flat_style_at_most_max_gain_times"]),
    # ----------------------------------------------------------------------------- serving
    M("make lab: 127.0.0.1", "binds all interfaces", "Makefile",
      [("--ServerApp.ip=127.0.0.1", "--ServerApp.ip=0.0.0.0")],
      ["tests/test_setup.py::test_make_lab_binds_to_loopback_and_keeps_the_token"]),
    M("make lab: token", "token disabled", "Makefile",
      [("--ServerApp.root_dir=notebooks $(ALLOW_ROOT)",
        "--ServerApp.root_dir=notebooks --ServerApp.token='' $(ALLOW_ROOT)")],
      ["tests/test_setup.py::test_make_lab_binds_to_loopback_and_keeps_the_token"]),
    M("README: classroom safely", "advice removed", "README.md",
      [("5. **Never open a server to the room by disabling its token.**", "5. Open it up.")],
      ["tests/test_setup.py::test_the_readme_says_how_to_open_the_lab_to_a_classroom_safely"]),
    # ------------------------------------------------------------- issue 16: a newcomer's faults
    M("16.5 CLI: one line, exit 2", "a device that cannot hold a tensor is not probed",
      "nst_helpers/devices.py",
      [("        why = _cannot_hold_a_tensor(resolved)\n", '        why = ""\n')],
      [TC + "test_a_device_that_cannot_hold_a_tensor_here_is_refused_before_any_work[xla]"]),
    M("16.1 outputs before the run", "fetch-weights --out checked after the download", W,
      [("    out_path = None if out is None else check_weights_output(out, same_as=cached)\n",
        "    out_path = None if out is None else Path(out).expanduser()\n")],
      [TC + "test_fetch_weights_checks_out_before_any_download[suffix-imagenet]"]),
    M("16.2 wrong kind of file", "info does not sniff the weights file", W,
      [('        "problem": None if path is None else weights_file_problem(path),\n',
        '        "problem": None,\n')],
      [TC + "test_info_says_when_the_weights_file_is_not_usable_and_why[html-NST_VGG19_WEIGHTS]"]),
    M("16.5 CLI: one line, exit 2", "torch's pickle-protocol warning not silenced", W,
      [('            warnings.filterwarnings("ignore", message=".*pickle protocol", '
        'category=UserWarning)\n', "")],
      [TC + "test_a_plain_pickle_as_weights_gives_the_one_line_and_no_torch_warning"]),
    M("16.3 out of memory", "--scales gets the --size advice", ER,
      [("    if scales is not None:\n        fewer = _halved(",
        "    if False:\n        fewer = _halved(")],
      [TC + "test_out_of_memory_with_scales_advises_a_smaller_last_scale_not_size"]),
    M("16.6 the truth after a stop", "an overflow before any step blamed on --lr", CLI,
      [("        if n == 0 and k <= 1:  # before any step",
        "        if False:  # before any step")],
      [TC + "test_a_loss_that_overflows_before_any_step_blames_the_weights_not_the_learning_rate"]),
    M("16.3 out of memory", "a run that ran out mid-way loses its evaluations", EN,
      [("            if not self.history:\n                raise  # nothing to keep\n",
        "            raise  # nothing to keep\n")],
      [TT + "test_running_out_of_memory_mid_run_keeps_the_best_image_so_far"]),
    M("16.3 out of memory", "coarse-to-fine loses its finished scales", C2F,
      [("            if result is None:\n                raise  # the first scale: nothing to keep",
        "            if True:\n                raise  # the first scale: nothing to keep")],
      ["tests/extensions/test_coarse_to_fine.py::"
       "test_out_of_memory_at_a_later_scale_keeps_the_last_finished_scale"]),
]
# fmt: on


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run(copy: Path, number: int, m: Mutation) -> bool:
    """Apply ``m`` in ``copy``, run its tests, restore; True when a test failed (as it must)."""
    target = copy / m.file
    original = target.read_text()
    text = original
    for old, new in m.edits:
        if text.count(old) != 1:
            print(f"{number:3d} STALE   {m.item}: {m.what}: snippet found {text.count(old)}x")
            return False
        text = text.replace(old, new)
    target.write_text(text)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST_OPTIONS, *m.tests],
            cwd=copy,
            env={**os.environ, "PYTHONPATH": str(copy)},
            capture_output=True,
            text=True,
            preexec_fn=_limit_memory,
            timeout=600,
        )
        lines = proc.stdout.strip().splitlines() or [""]
        why = [line for line in lines if re.match(r"^(/|E |tests/).*\d: ", line)]
        code, tail = proc.returncode, lines[-1] + (f"\n      why: {why[0][-160:]}" if why else "")
    except subprocess.TimeoutExpired:
        code, tail = -1, "timed out"
    finally:
        target.write_text(original)
    seconds = time.monotonic() - start
    caught = code in (1, 2, -1)  # failed, interrupted (a KeyboardInterrupt got through), hung
    word = "caught " if caught else ("SURVIVED" if code == 0 else f"ERROR {code}")
    print(f"{number:3d} {word} {m.item}: {m.what} [{seconds:.0f} s] {tail}", flush=True)
    return caught


def missing_tests() -> list[str]:
    """The rows whose test ids pytest does not find (a test moved or renamed): one line each."""
    ids = sorted({t for m in MUTATIONS for t in m.tests})
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *ids],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    found = {line.strip() for line in out.splitlines() if "::" in line}

    def exists(test: str) -> bool:
        return test in found or any(f.startswith(test + "[") for f in found)

    return [
        f"{n:3d} {m.item}: {m.what}: no test {t}"
        for n, m in enumerate(MUTATIONS, 1)
        for t in m.tests
        if not exists(t)
    ]


def main(argv: list[str]) -> int:
    if "--check" in argv:  # every snippet still in the source, exactly once (runs nothing)
        stale = [
            f"{n:3d} {m.item}: {m.what}: found {(ROOT / m.file).read_text().count(old)}x"
            for n, m in enumerate(MUTATIONS, 1)
            for old, _ in m.edits
            if (ROOT / m.file).read_text().count(old) != 1
        ]
        stale += missing_tests()
        print("\n".join(stale) or f"all {len(MUTATIONS)} mutations apply and name existing tests")
        return 1 if stale else 0
    if "--list" in argv:
        for n, m in enumerate(MUTATIONS, 1):
            print(f"{n:3d} {m.item} | {m.what} | {m.file} | {', '.join(m.tests)}")
        return 0
    wanted = {int(a) for a in argv if re.fullmatch(r"\d+", a)} or set(range(1, len(MUTATIONS) + 1))
    with tempfile.TemporaryDirectory(prefix="nst-mutations-") as tmp:
        copy = Path(tmp) / "repo"
        ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".*_cache", "test-output")
        shutil.copytree(ROOT, copy, ignore=ignore)
        results = [run(copy, n, m) for n, m in enumerate(MUTATIONS, 1) if n in wanted]
    print(f"{sum(results)} of {len(results)} mutations caught")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
