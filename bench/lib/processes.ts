// The harness is shared with the chaos tests and lives in test/helpers/stack.
export * from '../../test/helpers/stack/processes';
