"""Help > Guide: the ideas behind the views, each with where to see it, and the window's own shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.guide import IDEAS, shortcut_rows


def test_f1_opens_the_guide_beside_the_window_and_a_second_f1_raises_the_same_one(qtbot, main_window):
    main_window.show()
    qtbot.waitExposed(main_window)
    QTest.keyClick(main_window, Qt.Key.Key_F1)
    guide = main_window.guide_dialog
    qtbot.waitUntil(guide.isVisible)
    assert not guide.isModal()  # the user tries things in the window while reading
    text = guide.browser.toPlainText()
    for title, _idea, _where in IDEAS:
        assert title in text
    assert "KL = −½ Σⱼ (1 + log σⱼ² − μⱼ² − σⱼ²)" in text and "z = μ + σ·ε" in text
    QTest.keyClick(main_window, Qt.Key.Key_F1)
    assert main_window.guide_dialog is guide
    assert [action.text() for action in main_window.menuBar().actions()[-1].menu().actions()
            if not action.isSeparator()] == ["&Guide: what the window shows", "&About Latent Morph"]


def test_the_shortcuts_listed_are_the_window_s_own(main_window):
    rows = dict((what, keys) for keys, what in shortcut_rows(main_window))
    assert rows["Export morph"] == "Ctrl+E" and rows["Train"] == "Ctrl+Return"
    assert rows["Play / pause morph"] == "Space" and rows["Clear selection"] == "Esc"
    main_window.export_morph_action.setShortcut("Ctrl+Shift+M")  # a shortcut changed in the menus
    rows = dict((what, keys) for keys, what in shortcut_rows(main_window))
    assert rows["Export morph"] == "Ctrl+Shift+M"
