/**
 * fast-check's arrays and strings default to a "small" size (at most 10 elements) even when a test
 * gives a larger maxLength. The property tests here size their inputs on purpose (80 operations,
 * 300 documents …): with this, an explicit maxLength is what they get.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), defaultSizeToMaxWhenMaxSpecified: true });
