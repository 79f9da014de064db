/** Client-side routes on the History API: the server answers index.html for any path without an extension. */
import { useEffect, useState } from './html.ts'

const listeners = new Set<() => void>()

export function navigate (path: string): void {
  if (path === location.pathname + location.search) return
  history.pushState(null, '', path)
  for (const l of listeners) l()
}

export function usePath (): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const update = (): void => { setPath(location.pathname) }
    listeners.add(update)
    addEventListener('popstate', update)
    return () => { listeners.delete(update); removeEventListener('popstate', update) }
  }, [])
  return path
}

/** A same-origin link that changes the route without a page load (and still works with a modifier key). */
export function linkClick (e: MouseEvent): void {
  const a = e.currentTarget as HTMLAnchorElement
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  e.preventDefault()
  navigate(a.getAttribute('href') ?? '/')
}
