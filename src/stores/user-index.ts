/**
 * MemoryStore's per-user index: each user's session ids. A user with one session (most users) costs
 * the id itself; a set is made from the second session on, and given up when one is left again.
 */
export class UserIndex {
  readonly #byUser = new Map<string, string | Set<string>>()

  add(userId: string, id: string): void {
    const ids = this.#byUser.get(userId)
    if (ids === undefined) this.#byUser.set(userId, id)
    else if (typeof ids === 'object') ids.add(id)
    else if (ids !== id) this.#byUser.set(userId, new Set([ids, id]))
  }

  delete(userId: string, id: string): void {
    const ids = this.#byUser.get(userId)
    if (ids === id) this.#byUser.delete(userId)
    else if (typeof ids === 'object') {
      ids.delete(id)
      if (ids.size === 1) this.#byUser.set(userId, ids.values().next().value as string)
    }
  }

  /** The ids of a user's sessions, as a copy: the caller may change the index while it goes through them. */
  idsOf(userId: string): string[] {
    const ids = this.#byUser.get(userId)
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids]
  }

  clear(): void {
    this.#byUser.clear()
  }
}
