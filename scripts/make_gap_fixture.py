"""Writes tests/data/gap_questions.jsonl: off-topic and unanswerable questions, hand-grouped by intent,
for testing how `supportbot report` groups knowledge gaps.

The texts come from the evaluation data beside the checkout (../shared/data: CLINC150's out-of-scope
requests and doc2dial's unanswerable questions, both CC BY 3.0); the grouping is ours. Run from the
repository root: python scripts/make_gap_fixture.py [DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GROUPS = {
    "clinc150_oos/oos_dev.jsonl": {
        "news": ["oos_train_0006", "oos_test_0096", "oos_val_0047", "oos_test_0437", "oos_test_0439",
                 "oos_test_0482"],
        "stock prices": ["oos_test_0075", "oos_train_0018", "oos_train_0004", "oos_test_0117",
                         "oos_test_0047", "oos_test_0078"],
        "movies showing": ["oos_test_0432", "oos_test_0430", "oos_test_0023", "oos_test_0190", "oos_test_0191"],
        "washing a car": ["oos_test_0883", "oos_test_0882", "oos_test_0780", "oos_test_0821"],
        "phone data plan": ["oos_test_0138", "oos_test_0179", "oos_test_0164", "oos_test_0147"],
        "cold remedies": ["oos_test_0799", "oos_test_0486", "oos_test_0488", "oos_test_0487"],
        "periodic table": ["oos_test_0377", "oos_test_0379", "oos_test_0198"],
        "cpr": ["oos_test_0535", "oos_test_0533", "oos_test_0532"],
        "greek mythology": ["oos_test_0301", "oos_test_0404", "oos_test_0303", "oos_test_0300", "oos_test_0401"],
        "albert einstein": ["oos_test_0510", "oos_test_0509", "oos_test_0507"],
        "safe deposit box": ["oos_test_0495", "oos_test_0493", "oos_test_0494"],
    },
    "doc2dial/questions_dev.jsonl": {
        # One gap: CDC's COVID-19 guidance, which the doc2dial knowledge base does not have (for
        # healthcare staff returning to work, transit and bus workers, dental offices).
        "covid-19 guidance": [
            "0af56872e678db2f5d5b4fd0835c38cd_1", "0c39756c41dcf1e98b59869dac25144a_1",
            "2939e9d9c258a26ce7fac24664a17a11_1", "557473b5ac9e3c37fb326d7da4ddd982_1",
            "6c4ab4b4452286125ac05d64bb3451be_1", "e8c6307705117fb8c7b65e36a2959788_1",
            "2fcf4e39c314f539895942f3a8e83e1a_1", "823401af06c66f9bc006e8b60485f5ee_1",
            "871efb7b8736a3af6e2410dbee7762ab_1", "dc8e9c4327042a31f92f483ddf3cebd2_1",
            "f05687d3a1f3c9cd6955b1cfeb96a7c9_1", "f954dc2614fc5904aa55bd6630ddf87e_1",
            "ae755a40120b77f8be6de190b1b25ba6_1",
            "0e858c14029b739f544c31daaab481ac_1", "6a3858c4d83fb05819fe082210e2cdae_1",
            "6aa3415ba3e4ff8793b8f39dd1909499_1", "8889cf6809e13352245ea5e8097b6e0f_1",
            "8ec865262c413baf698d1df56fe85a4d_1"],
    },
}


def main(data_dir: Path) -> None:
    rows = []
    for file, groups in GROUPS.items():
        texts = {}
        for line in (data_dir / file).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[record["id"]] = record.get("text") or record.get("question")
        dataset = file.split("/")[0]
        for group, ids in groups.items():
            rows += [{"id": i, "source": dataset, "group": group, "text": texts[i]} for i in ids]
    out = Path("tests/data/gap_questions.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} questions in {sum(len(g) for g in GROUPS.values())} groups -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"))
