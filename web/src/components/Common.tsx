// Small pieces several screens share: a modal dialog shell, a form's error and status
// lines, a person picker, and a table head whose last column holds row actions.

import type { ReactNode, Ref } from 'react';
import type { Member } from '../types';

/** A modal dialog: the backdrop and Escape close it; clicks inside stay inside. */
export function Modal({
  labelledBy,
  onClose,
  dialogRef,
  children,
}: {
  labelledBy: string;
  onClose: () => void;
  dialogRef?: Ref<HTMLDivElement>;
  children: ReactNode;
}) {
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby={labelledBy}
        tabIndex={-1}
        ref={dialogRef}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
        }}
      >
        {children}
      </div>
    </div>
  );
}

/** A form's refusal (announced at once) and, when given, its quieter status line. */
export function FormFeedback({ error, status }: { error: string; status?: string }) {
  return (
    <>
      <p className="form-error" role="alert">
        {error}
      </p>
      {status !== undefined && (
        <p className="muted" role="status">
          {status}
        </p>
      )}
    </>
  );
}

/** Column headings, then an unlabelled-looking (screen-reader labelled) actions column. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
        <th scope="col">
          <span className="sr-only">Actions</span>
        </th>
      </tr>
    </thead>
  );
}

/** Picks one person of `people` (by user id; empty while nobody is chosen). */
export function PersonSelect({ id, people, value, onChange }: { id: string; people: Member[]; value: string; onChange: (userId: string) => void }) {
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">Choose a person…</option>
      {people.map((m) => (
        <option key={m.user_id} value={m.user_id}>
          {m.display_name}
        </option>
      ))}
    </select>
  );
}

/** A bell struck through: muted channels and paused notifications. An icon rather than an
 * emoji, so it shows whatever fonts the system has. */
export function BellOff() {
  return (
    <svg className="icon" width="14" height="14" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        d="M18 15V11a6 6 0 0 0-9.6-4.8M6.2 8.6A6 6 0 0 0 6 11v4l-2 3h12M10 21a2.2 2.2 0 0 0 4 0"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
      <path d="M3 3l18 18" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
    </svg>
  );
}

/** A paper clip: attaching files. */
export function PaperClip() {
  return (
    <svg className="icon" width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}
