"""The report's stylesheet, inline so the page needs nothing else."""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f7f7f5;color:#222}
main{max-width:1180px;margin:0 auto;padding:24px}
header h1{margin:0 0 4px 0;font-size:28px}
h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
h3{margin:18px 0 8px 0}
nav a{margin-right:12px;color:#555}
.muted{color:#777;font-size:0.9em}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}
.card{background:#fff;border-radius:8px;padding:10px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12);min-width:150px}
.big{font-size:26px;font-weight:600}
table{border-collapse:collapse;background:#fff;margin:8px 0}
td,th{border:1px solid #ddd;padding:4px 10px;text-align:left;font-size:0.92em}
th{background:#eee}
table.mini td,table.mini th{padding:2px 6px;font-size:0.8em}
.pipeline{background:#fff;border-radius:8px;padding:10px 14px;margin:14px 0;box-shadow:0 1px 3px rgba(0,0,0,.1)}
.chain{display:flex;align-items:stretch;overflow-x:auto;gap:4px}
.stage{border-radius:6px;padding:6px;min-width:150px;max-width:260px;border:2px solid #ccc;background:#fafafa;display:inline-block}
.stage.hand-crafted{border-color:#1b9e77;background:#eef8f4}
.stage.learned{border-color:#d95f02;background:#fdf2ea}
.stage.input,.stage.output{border-color:#888}
.stage-name{font-weight:600}
.badge{font-size:0.75em;color:#555;text-transform:uppercase;letter-spacing:.05em}
.stage-out img{max-width:240px;display:block;margin:4px 0}
.stage-desc{font-size:0.8em;color:#555}
.text-out{font-family:ui-monospace,monospace;font-size:0.85em;margin:6px 0;word-break:break-word}
.arrow{align-self:center;font-size:22px;color:#999}
.legend .stage{display:inline-block;min-width:0;padding:2px 8px;margin:0 6px}
.gallery{display:flex;flex-wrap:wrap;gap:14px}
figure{background:#fff;margin:0;padding:8px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.1);max-width:560px}
figure img{max-width:100%}
figcaption{font-size:0.85em;margin-top:4px}
.ok{color:#1b7837;font-weight:600}
.warn{color:#b2182b;font-weight:600}
pre{background:#272822;color:#f8f8f2;padding:10px;border-radius:6px;overflow-x:auto}
section>img{max-width:100%;background:#fff}
"""
