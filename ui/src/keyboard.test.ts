// Keyboard shortcuts: which key does what, what counts as typing, and moving through the cards.
import { describe, expect, it } from 'vitest';
import { actionForKey, isTypingTarget, moveIndex } from './keyboard';

describe('actionForKey', () => {
  it('maps the documented keys', () => {
    expect(actionForKey({ key: 'j' })).toBe('next');
    expect(actionForKey({ key: 'k' })).toBe('prev');
    expect(actionForKey({ key: 'l' })).toBe('like');
    expect(actionForKey({ key: 'b' })).toBe('boost');
    expect(actionForKey({ key: 'h' })).toBe('hide');
    expect(actionForKey({ key: 's' })).toBe('show_less');
    expect(actionForKey({ key: 'o' })).toBe('open');
    expect(actionForKey({ key: '/' })).toBe('search');
    expect(actionForKey({ key: 'n' })).toBe('compose');
    expect(actionForKey({ key: 'r' })).toBe('refresh');
    expect(actionForKey({ key: 'c' })).toBe('calm');
    expect(actionForKey({ key: 't' })).toBe('digest');
    expect(actionForKey({ key: 'i' })).toBe('notifications');
    expect(actionForKey({ key: ',' })).toBe('settings');
    expect(actionForKey({ key: '?' })).toBe('help');
  });
  it('ignores modified and unknown keys', () => {
    expect(actionForKey({ key: 'r', ctrlKey: true })).toBeNull();
    expect(actionForKey({ key: 'l', metaKey: true })).toBeNull();
    expect(actionForKey({ key: 'j', altKey: true })).toBeNull();
    expect(actionForKey({ key: 'x' })).toBeNull();
    expect(actionForKey({ key: 'J' })).toBeNull();
    expect(actionForKey({ key: 'c', ctrlKey: true })).toBeNull();
    expect(actionForKey({ key: 'T' })).toBeNull();
    expect(actionForKey({ key: 't', metaKey: true })).toBeNull();
    expect(actionForKey({ key: 'I' })).toBeNull();
    expect(actionForKey({ key: 'b', ctrlKey: true })).toBeNull();
  });
});

describe('isTypingTarget', () => {
  it('is true for text fields and editable content', () => {
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true);
    expect(isTypingTarget(document.createElement('input'))).toBe(true);
    const search = document.createElement('input');
    search.type = 'search';
    expect(isTypingTarget(search)).toBe(true);
    const div = document.createElement('div');
    div.setAttribute('contenteditable', 'true');
    expect(isTypingTarget(div)).toBe(true);
  });
  it('is false for buttons, checkboxes and plain elements', () => {
    expect(isTypingTarget(document.createElement('button'))).toBe(false);
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    expect(isTypingTarget(cb)).toBe(false);
    expect(isTypingTarget(document.createElement('article'))).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget(document)).toBe(false);
  });
});

describe('moveIndex', () => {
  it('starts at the first card from nothing', () => {
    expect(moveIndex(-1, 1, 5)).toBe(0);
    expect(moveIndex(-1, -1, 5)).toBe(0);
  });
  it('moves and clamps at both ends', () => {
    expect(moveIndex(0, 1, 5)).toBe(1);
    expect(moveIndex(3, -1, 5)).toBe(2);
    expect(moveIndex(4, 1, 5)).toBe(4);
    expect(moveIndex(0, -1, 5)).toBe(0);
  });
  it('handles shrunken and empty lists', () => {
    expect(moveIndex(9, 1, 5)).toBe(4);
    expect(moveIndex(0, 1, 0)).toBe(-1);
  });
});
