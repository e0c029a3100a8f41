"""The floor for the tray bench: the smallest pystray app (an icon and a Quit item) on the same backend."""

import pystray
from PIL import Image, ImageDraw

image = Image.new("RGBA", (24, 24), (0, 0, 0, 0))
ImageDraw.Draw(image).ellipse((1, 1, 22, 22), fill=(46, 160, 67, 255))
menu = pystray.Menu(pystray.MenuItem("Quit", lambda icon, item: icon.stop()))
pystray.Icon("bare", image, "bare", menu).run()
