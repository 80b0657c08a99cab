"""Renders a terminal capture with ANSI colours (tmux capture-pane -e) into a PNG, for the README.

    python3 scripts/render-terminal.py CAPTURE.txt OUT.png

Only what tmux emits is handled: SGR sequences for the 16 base colours, 256 colours, bold, dim and reverse.
"""

import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BACKGROUND = (30, 30, 36)
FOREGROUND = (220, 220, 220)
BASE = [
    (0, 0, 0), (205, 49, 49), (13, 188, 121), (229, 229, 16),
    (36, 114, 200), (188, 63, 188), (17, 168, 205), (229, 229, 229),
    (102, 102, 102), (241, 76, 76), (35, 209, 139), (245, 245, 67),
    (59, 142, 234), (214, 112, 214), (41, 184, 219), (255, 255, 255),
]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def palette(index):
    if index < 16:
        return BASE[index]
    if index < 232:
        index -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[index // 36], steps[(index // 6) % 6], steps[index % 6])
    level = 8 + (index - 232) * 10
    return (level, level, level)


def spans(line, state):
    """Splits a line into (text, style) pieces, carrying the style across lines as a terminal does."""
    position = 0
    for match in SGR.finditer(line):
        if match.start() > position:
            yield line[position:match.start()], dict(state)
        codes = [int(code) if code else 0 for code in match.group(1).split(";")]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code == 0:
                state.clear()
            elif code == 1:
                state["bold"] = True
            elif code == 2:
                state["dim"] = True
            elif code == 7:
                state["reverse"] = True
            elif code in (22,):
                state.pop("bold", None)
                state.pop("dim", None)
            elif code == 27:
                state.pop("reverse", None)
            elif 30 <= code <= 37:
                state["fg"] = BASE[code - 30]
            elif 90 <= code <= 97:
                state["fg"] = BASE[code - 90 + 8]
            elif code == 39:
                state.pop("fg", None)
            elif 40 <= code <= 47:
                state["bg"] = BASE[code - 40]
            elif code == 49:
                state.pop("bg", None)
            elif code in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                state["fg" if code == 38 else "bg"] = palette(codes[i + 2])
                i += 2
            i += 1
        position = match.end()
    if position < len(line):
        yield line[position:], dict(state)


def main(capture_path, out_path):
    with open(capture_path, encoding="utf-8") as capture:
        lines = capture.read().rstrip("\n").split("\n")
    regular = ImageFont.truetype(FONT, SIZE)
    bold = ImageFont.truetype(FONT_BOLD, SIZE)
    cell_width = round(regular.getlength("M"))
    cell_height = SIZE + 5
    columns = max(len(SGR.sub("", line)) for line in lines)
    margin = 14
    image = Image.new("RGB", (columns * cell_width + 2 * margin, len(lines) * cell_height + 2 * margin), BACKGROUND)
    draw = ImageDraw.Draw(image)
    state = {}
    for row, line in enumerate(lines):
        x = margin
        y = margin + row * cell_height
        for text, style in spans(line, state):
            fg = style.get("fg", FOREGROUND)
            bg = style.get("bg")
            if style.get("dim"):
                fg = tuple(channel * 55 // 100 for channel in fg)
            if style.get("reverse"):
                fg, bg = bg or BACKGROUND, fg
            width = len(text) * cell_width
            if bg:
                draw.rectangle([x, y, x + width, y + cell_height], fill=bg)
            draw.text((x, y + 2), text, font=bold if style.get("bold") else regular, fill=fg)
            x += width
    image.save(out_path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
