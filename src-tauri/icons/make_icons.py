#!/usr/bin/env python3
"""Draw the Hearth app icon and write every size Tauri needs.

Flat design: a house with a glowing hearth and flame on a warm, dark
rounded-square background. Drawn with Pillow at 4x (4096 px), reduced to a
1024 px master, then downscaled. All PNGs are 8-bit RGBA (colour type 6).

Usage: python3 src-tauri/icons/make_icons.py   (needs Pillow)
Writes: src-tauri/icons/{32x32,128x128,128x128@2x,icon}.png, icon.ico,
        and assets/icons/hearth.png (copy of the 512 px icon).
"""
import os

from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

SS = 4                 # supersampling factor
N = 1024 * SS          # canvas size while drawing


def s(v):
    """Scale a coordinate given on the 1024 grid to the drawing canvas."""
    return int(round(v * SS))


def lerp(a, b, t):
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(len(a)))


def rounded_mask(size, box, radius):
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rounded_rectangle(box, radius=radius, fill=255)
    return m


def flame_polygon(cx, base_y, width, height, lean=0.0, steps=120):
    """Teardrop flame: round bottom, pointed slightly curved tip (1024 grid)."""
    import math
    pts = []
    r = width / 2
    cy = base_y - r                      # centre of the round bottom
    tip_y = base_y - height
    # right side, from bottom to tip
    for i in range(steps + 1):
        t = i / steps
        if t < 0.5:                      # lower half circle, bottom -> right
            a = math.pi / 2 - t * 2 * (math.pi / 2)
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        else:                            # curve from right side up to the tip
            u = (t - 0.5) * 2
            x = cx + r * (1 - u) ** 1.6 + lean * u ** 2 * width
            y = cy + (tip_y - cy) * u
        pts.append((x, y))
    # left side, from tip back down to the bottom
    for i in range(steps, -1, -1):
        t = i / steps
        if t < 0.5:
            a = math.pi / 2 + t * 2 * (math.pi / 2)
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        else:
            u = (t - 0.5) * 2
            x = cx - r * (1 - u) ** 1.3 + lean * u ** 2 * width
            y = cy + (tip_y - cy) * u
        pts.append((x, y))
    return [(s(x), s(y)) for x, y in pts]


def draw_master():
    img = Image.new("RGBA", (N, N), (0, 0, 0, 0))

    # --- background: rounded square with a vertical warm gradient ---------
    top, bottom = (92, 38, 46), (38, 20, 40)
    grad = Image.new("RGBA", (1, N))
    for y in range(N):
        grad.putpixel((0, y), lerp(top, bottom, y / (N - 1)) + (255,))
    grad = grad.resize((N, N))
    margin, radius = s(32), s(228)
    img.paste(grad, (0, 0), rounded_mask((N, N), (margin, margin, N - margin, N - margin), radius))

    # --- soft glow behind the house ---------------------------------------
    glow = Image.new("RGBA", (N, N), (0, 0, 0, 0))
    ImageDraw.Draw(glow).ellipse((s(250), s(300), s(774), s(860)), fill=(255, 140, 60, 120))
    glow = glow.filter(ImageFilter.GaussianBlur(s(90)))
    clip = rounded_mask((N, N), (margin, margin, N - margin, N - margin), radius)
    glow.putalpha(Image.composite(glow.getchannel("A"), Image.new("L", (N, N), 0), clip))
    img = Image.alpha_composite(img, glow)

    d = ImageDraw.Draw(img)
    cream = (255, 240, 220, 255)
    dark = (58, 26, 36, 255)

    # --- house: chimney, roof, body ----------------------------------------
    d.rounded_rectangle((s(648), s(250), s(728), s(420)), radius=s(14), fill=cream)
    # roof: a triangle grown by a disc (Minkowski sum) so all corners are round
    roof, r = [(512, 232), (806, 472), (218, 472)], 26
    d.polygon([(s(x), s(y)) for x, y in roof], fill=cream)
    for i in range(3):
        (x0, y0), (x1, y1) = roof[i], roof[(i + 1) % 3]
        d.line((s(x0), s(y0), s(x1), s(y1)), fill=cream, width=s(2 * r))
        d.ellipse((s(x0 - r), s(y0 - r), s(x0 + r), s(y0 + r)), fill=cream)
    d.rounded_rectangle((s(262), s(440), s(762), s(826)), radius=s(36), fill=cream)

    # --- hearth opening: arch --------------------------------------------
    ax0, ax1, atop, abot = 362, 662, 500, 826
    d.rounded_rectangle((s(ax0), s(atop + 150), s(ax1), s(abot)), radius=s(6), fill=dark)
    d.pieslice((s(ax0), s(atop), s(ax1), s(atop + 300)), 180, 360, fill=dark)
    d.rectangle((s(ax0), s(atop + 150), s(ax1), s(atop + 160)), fill=dark)

    # warm light inside the hearth
    inner = Image.new("RGBA", (N, N), (0, 0, 0, 0))
    ImageDraw.Draw(inner).ellipse((s(392), s(600), s(632), s(860)), fill=(255, 120, 50, 150))
    inner = inner.filter(ImageFilter.GaussianBlur(s(40)))
    arch = Image.new("L", (N, N), 0)
    ad = ImageDraw.Draw(arch)
    ad.rounded_rectangle((s(ax0), s(atop + 150), s(ax1), s(abot)), radius=s(6), fill=255)
    ad.pieslice((s(ax0), s(atop), s(ax1), s(atop + 300)), 180, 360, fill=255)
    inner.putalpha(Image.composite(inner.getchannel("A"), Image.new("L", (N, N), 0), arch))
    img = Image.alpha_composite(img, inner)
    d = ImageDraw.Draw(img)

    # --- flame ------------------------------------------------------------
    d.polygon(flame_polygon(512, 780, 190, 272, lean=0.10), fill=(255, 122, 47, 255))
    d.polygon(flame_polygon(516, 780, 116, 180, lean=0.08), fill=(255, 201, 74, 255))
    d.polygon(flame_polygon(518, 780, 52, 96, lean=0.04), fill=(255, 243, 196, 255))

    # --- hearth floor / logs ---------------------------------------------
    d.rounded_rectangle((s(392), s(776), s(632), s(806)), radius=s(15), fill=(150, 72, 46, 255))

    return img.resize((1024, 1024), Image.LANCZOS)


def main():
    master = draw_master()
    out = {
        "32x32.png": 32,
        "128x128.png": 128,
        "128x128@2x.png": 256,
        "icon.png": 512,
    }
    for name, size in out.items():
        im = master.resize((size, size), Image.LANCZOS).convert("RGBA")
        im.save(os.path.join(HERE, name), "PNG", optimize=True)
    master.save(os.path.join(HERE, "icon.ico"),
                sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    os.makedirs(os.path.join(ROOT, "assets", "icons"), exist_ok=True)
    master.resize((512, 512), Image.LANCZOS).save(os.path.join(ROOT, "assets", "icons", "hearth.png"), "PNG", optimize=True)


if __name__ == "__main__":
    main()
