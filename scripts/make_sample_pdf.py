"""Regenerate config/knowledge/public/warranty.pdf from the text in this script.

The sample knowledge base ships a ready-made warranty.pdf, so nothing here is
needed to run supportbot. fpdf2 is only needed to regenerate the PDF after
editing the policy text below:

    pip install fpdf2
    python scripts/make_sample_pdf.py

The PDF uses the core Helvetica font, which only covers latin-1, so the text
must not contain curly quotes, em dashes or other non-latin-1 characters.
The title and URL the loader uses for this file come from
config/knowledge/public/sources.toml.
"""

from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "config" / "knowledge" / "public" / "warranty.pdf"

TITLE = "Warranty policy"

# Each entry is (kind, text). Kinds: "h1", "h2", "p", "li".
CONTENT = [
    ("h1", "Warranty policy"),
    ("p", "Harbor & Pine Outfitters | help.harborandpine.example/policies/warranty"),
    ("p",
     "We design our gear to last for many seasons. If a Harbor & Pine product "
     "fails because of the way it was made, we will make it right. This policy "
     "applies to customers in the United States and Canada."),

    ("h2", "Warranty period"),
    ("li",
     "Harbor & Pine branded products have a 2-year limited warranty, counted "
     "from the original purchase date shown on your receipt or order."),
    ("li",
     "The stitching and zippers of Harbor & Pine packs are covered for the "
     "lifetime of the pack."),
    ("li",
     "Products from other brands that we sell are covered by their "
     "manufacturer's warranty. We are happy to help you contact the brand."),
    ("p",
     "Within 30 days of delivery, a defective item can simply be returned for "
     "free under our returns policy. After 30 days, defects are handled under "
     "this warranty."),

    ("h2", "What is covered"),
    ("p",
     "The warranty covers manufacturing defects in materials and workmanship "
     "under normal use, for example:"),
    ("li", "Seams that open or stitching that unravels"),
    ("li", "Zippers, buckles or tent pole sections that fail under normal loads"),
    ("li", "Delaminating waterproof membranes or peeling seam tape"),
    ("li", "Boot soles that separate from the upper"),

    ("h2", "What is not covered"),
    ("li", "Normal wear and tear, such as abrasion, faded colour or worn soles"),
    ("li", "Accidents, including tears, burns, pet or animal damage, and crushing"),
    ("li",
     "Improper care, such as bleach, fabric softener, dry cleaning, high heat "
     "or storing gear wet (see our Product care guide)"),
    ("li", "Modifications, or repairs by anyone other than Harbor & Pine or our "
           "authorised repair partner"),
    ("li", "Loss or theft, and items bought from unauthorised resellers"),

    ("h2", "How to file a claim"),
    ("li", "Fill in the warranty form at help.harborandpine.example/warranty-claim."),
    ("li",
     "Give your order number. If you bought in a store or received a gift, "
     "upload a receipt or other proof of purchase instead."),
    ("li",
     "Attach clear photos: the whole item, a close-up of the defect, and the "
     "product label sewn inside the item."),
    ("li", "Do not send the item until we ask you to."),
    ("p",
     "We answer every claim within 10 business days. If we need to inspect the "
     "item, we email you a prepaid shipping label, so an approved claim costs "
     "you nothing."),

    ("h2", "Possible outcomes"),
    ("p", "After reviewing your claim we will choose one of the following:"),
    ("li", "Repair: we fix the item and send it back, usually within 3 weeks."),
    ("li",
     "Replace: if a repair is not practical, we send the same item or the "
     "closest current equivalent."),
    ("li",
     "Store credit: if neither is possible, we issue store credit for the "
     "price you paid, as a Pine Points gift card."),
    ("p",
     "A repaired or replaced item is covered for the rest of the original "
     "warranty period. If your claim is declined, we explain why and may offer "
     "a paid repair."),

    ("h2", "Questions"),
    ("p",
     "Email support@harborandpine.example with your order number, or see the "
     "help centre at help.harborandpine.example."),
]

# A fixed date keeps the output byte-stable between runs.
CREATION_DATE = datetime(2024, 1, 15, 9, 0, 0, tzinfo=timezone.utc)


def check_latin1(text: str) -> None:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise SystemExit(f"non-latin-1 character in PDF text: {text!r}") from exc


def build() -> FPDF:
    pdf = FPDF(format="Letter")
    pdf.set_title(TITLE)
    pdf.set_author("Harbor & Pine Outfitters")
    pdf.set_subject("Sample knowledge base document for supportbot")
    pdf.set_creator("scripts/make_sample_pdf.py")
    pdf.set_creation_date(CREATION_DATE)
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    for kind, text in CONTENT:
        check_latin1(text)
        if kind == "h1":
            pdf.set_font("Helvetica", "B", 20)
            pdf.multi_cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
        elif kind == "h2":
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 13)
            pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        elif kind == "p":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1.5)
        elif kind == "li":
            pdf.set_font("Helvetica", "", 10.5)
            pdf.set_x(pdf.l_margin + 4)
            pdf.cell(5, 5.5, "-")
            pdf.multi_cell(0, 5.5, text, new_x="LMARGIN", new_y="NEXT")
        else:
            raise ValueError(f"unknown content kind: {kind}")
    return pdf


def main() -> None:
    pdf = build()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(OUTPUT))
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({pdf.pages_count} page(s))")


if __name__ == "__main__":
    main()
