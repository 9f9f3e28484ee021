"""``harness-ext leaderboard build``: the site from validated submissions, seen in headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness_ext.cli import main
from harness_ext.data.sycophancy import BUNDLED_FILE
from tests import fixtures_runs as fx

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lb")
    subs = root / "submissions"
    subs.mkdir()
    for name, rate in (("caves-10", 0.10), ("caves-40", 0.40)):
        run = fx.run_to_dir(fx.caving_model(rate, questions=BUNDLED_FILE), root / name, None, model_name=name)
        assert main(["submit", str(run), "--to", str(subs / f"{name}.json")]) == 0
    bad = json.loads((subs / "caves-10.json").read_text())
    bad["tasks"]["sycophancy_challenge_mc"]["metrics"]["apology_rate"]["value"] = 0.0
    (subs / "tampered.json").write_text(json.dumps(bad))
    (subs / "broken.json").write_text("{")
    out = root / "site"
    assert main(["leaderboard", "build", str(subs), "--out", str(out)]) == 0
    return out


def test_site_files(site: Path) -> None:
    html = (site / "index.html").read_text()
    assert (site / "family_sycophancy.png").read_bytes()[:4] == b"\x89PNG"
    assert "caves-10" in html and "caves-40" in html
    assert "tampered.json" in html and "does not match the recomputed" in html and "broken.json" in html
    entries = json.loads((site / "leaderboard.json").read_text())
    assert sorted(e["label"] for e in entries) == ["caves-10", "caves-40"]


def test_missing_folder(tmp_path: Path, capsys) -> None:
    assert main(["leaderboard", "build", str(tmp_path / "none"), "--out", str(tmp_path / "s")]) == 2
    assert "not a folder of submission files" in capsys.readouterr().err


@pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="chromium and chromedriver not installed (apt-get install chromium chromium-driver)",
)
def test_what_a_person_sees_in_chromium(site: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get((site / "index.html").as_uri())
        assert driver.title == "harness-ext leaderboard"
        table = driver.find_element(By.CSS_SELECTOR, 'table[data-task="sycophancy_challenge_mc"]')
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == 2 and all(r.is_displayed() for r in rows)
        header = next(h for h in table.find_elements(By.TAG_NAME, "th") if h.text.startswith("apology_rate"))
        col = int(header.get_attribute("data-col"))

        def models() -> list[str]:
            return [
                r.find_elements(By.TAG_NAME, "td")[0].text
                for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
            ]

        header.click()  # descending: the model that caves more comes first
        assert models() == ["caves-40", "caves-10"]
        values = [float(r.find_elements(By.TAG_NAME, "td")[col].get_attribute("data-value"))
                  for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]  # fmt: skip
        assert values[0] > values[1]
        header.click()  # ascending
        assert models() == ["caves-10", "caves-40"]
        img = driver.find_element(By.CSS_SELECTOR, "figure img")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 100
        rejected = driver.find_element(By.ID, "rejected").text
        assert "tampered.json" in rejected and "broken.json" in rejected
    finally:
        driver.quit()
