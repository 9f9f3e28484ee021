"""Editable installs get only the start-up hook; tasks/ and prompts/ are read from the checkout."""

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            build_data["force_include_editable"] = {
                "harness_ext/harness_ext_autoload.pth": "harness_ext_autoload.pth"
            }
