"""Jupyter's own conformance suite (jupyter_kernel_test) against tscolab,
with every sample field filled in."""
import unittest

import jupyter_kernel_test


class TscolabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "tscolab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'

    completion_samples = [
        {"text": "Math.fl", "matches": {"floor"}},
        {"text": "%lsm", "matches": {"%lsmagic"}},
    ]
    complete_code_samples = ["1 + 1", "let s = 'x';", "%lsmagic", "function f() { return 1 }"]
    incomplete_code_samples = ["function f() {", "let a = [1, 2,", "%train --epochs 3 \\"]
    invalid_code_samples = ["}", "foo(1))", "let a = 1\n%%train"]

    code_page_something = "%train?"
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'tscolab'", "result": "'tscolab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_display_data = [
        {"code": 'import * as tslab from "tslab";\ntslab.display.html("<b>hi</b>")', "mime": "text/html"},
        {"code": "%lsmagic\n1", "mime": "text/html"},
    ]
    code_history_pattern = "6 * 7"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.max"
    code_clear_output = "%clear_output"


if __name__ == "__main__":
    unittest.main()
